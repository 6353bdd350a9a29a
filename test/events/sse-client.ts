import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';

/** One SSE frame as a client parses it (text/event-stream, WHATWG HTML §9.2). */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  /** Comment lines (`: …`) of the block. */
  comments: string[];
  /** performance.timeOrigin + performance.now() when its last line arrived (ms since the epoch). */
  receivedAt: number;
}

export interface SseOpen {
  token: string;
  labId?: number | string;
  lastEventId?: string;
  /** Query string without `?`. */
  query?: string;
}

/** A real SSE client over a socket: frames parsed as they arrive, the end observed. */
export class SseClient {
  readonly frames: SseFrame[] = [];
  /** The non-200 answer's body (JSON), when the stream was refused. */
  body: any;
  text = '';
  ended = false;
  readonly done: Promise<void>;
  private buffer = '';
  private onEnd!: () => void;

  private constructor(
    private readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    this.done = new Promise((r) => (this.onEnd = r));
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.text += chunk;
      if (res.statusCode === 200) this.parse(chunk);
    });
    const end = () => {
      if (this.ended) return;
      this.ended = true;
      if (res.statusCode !== 200) {
        try {
          this.body = JSON.parse(this.text);
        } catch {
          this.body = this.text;
        }
      }
      this.onEnd();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** Opens the stream; resolves when the response headers are in (a refusal's body too). */
  static open(baseUrl: string, o: SseOpen): Promise<SseClient> {
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      authorization: `Bearer ${o.token}`,
    };
    if (o.labId !== undefined) headers['x-lab-id'] = String(o.labId);
    if (o.lastEventId !== undefined) headers['last-event-id'] = o.lastEventId;
    const url = new URL(`/api/v1/events/stream${o.query ? `?${o.query}` : ''}`, baseUrl);
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers, agent: false }, (res) => {
        const c = new SseClient(req, res);
        if (res.statusCode === 200) resolve(c);
        else void c.done.then(() => resolve(c));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The event frames (with an `event:`), their data parsed. */
  get events(): Array<{ id: string; event: string; data: any; receivedAt: number }> {
    return this.frames
      .filter((f) => f.event !== undefined)
      .map((f) => ({
        id: f.id!,
        event: f.event!,
        data: JSON.parse(f.data ?? 'null'),
        receivedAt: f.receivedAt,
      }));
  }

  /** Waits until `pred` holds for the frames so far; fails after timeoutMs. */
  async waitFor<T>(
    pred: (c: SseClient) => T | undefined | false,
    timeoutMs = 10_000,
    what = 'frames',
  ): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this);
      if (v) return v;
      if (Date.now() > until) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.text}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Closes the connection from the client's side. */
  close(): Promise<void> {
    this.req.destroy();
    return this.done;
  }

  private parse(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      const f: SseFrame = { comments: [], receivedAt: performance.timeOrigin + performance.now() };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) f.comments.push(line.slice(1).trim());
        else {
          const at = line.indexOf(':');
          const field = at < 0 ? line : line.slice(0, at);
          const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
          if (field === 'id') f.id = value;
          else if (field === 'event') f.event = value;
          else if (field === 'data') f.data = f.data === undefined ? value : `${f.data}\n${value}`;
          else if (field === 'retry') f.retry = Number(value);
        }
      }
      this.frames.push(f);
    }
  }
}
