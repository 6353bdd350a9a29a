import { Writable } from 'node:stream';

export type LogLine = Record<string, unknown> & { level?: string; msg?: string };

/** A pino destination that keeps every line (raw text and parsed JSON). */
export class LogCapture extends Writable {
  private text = '';

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }

  /** Everything written so far, as written. */
  raw(): string {
    return this.text;
  }

  lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogLine);
  }

  /** Lines whose request_id is `id`. */
  forRequest(id: string): LogLine[] {
    return this.lines().filter((l) => l.request_id === id);
  }
}
