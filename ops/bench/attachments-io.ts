/**
 * Bytes and HTTP of the attachments scenario, shared by the harness and the
 * background upload loop (a worker thread). Payloads are generated, never
 * held: a binary STL (one of the allowed types, known by its size) whose
 * triangles are an AES-256-CTR keystream keyed by a seed, so the same seed
 * gives the same bytes in any process, at native speed, streamed 64 KiB at a
 * time.
 */
import { createCipheriv, createHash } from 'node:crypto';
import * as http from 'node:http';
import { Readable } from 'node:stream';

export const MIB = 2 ** 20;
const CHUNK = 64 * 1024;
const STL_HEADER = 84;
const TRIANGLE = 50;

/** The size of the payload closest below `mib` MiB that is a valid binary STL (84 + 50 × triangles). */
export function payloadSize(mib: number): number {
  const triangles = Math.max(1, Math.floor((mib * MIB - STL_HEADER) / TRIANGLE));
  return STL_HEADER + triangles * TRIANGLE;
}

/** The first `size` bytes of the payload of `seed` (a binary STL header, then the keystream). */
export function payloadStream(seed: string, size: number): Readable {
  if ((size - STL_HEADER) % TRIANGLE !== 0 || size <= STL_HEADER)
    throw new Error(`payload size ${size} is not 84 + 50 × triangles`);
  const key = createHash('sha256').update(`lhcms-bench:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  const header = Buffer.alloc(STL_HEADER, 0x20);
  header.write(`binary stl, lhcms bench ${seed}`.slice(0, 80), 0, 'latin1');
  header.writeUInt32LE((size - STL_HEADER) / TRIANGLE, 80);
  let sent = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (sent === 0) {
        sent = STL_HEADER;
        this.push(header);
        return;
      }
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, size - sent);
      sent += n;
      this.push(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)));
    },
  });
}

/** SHA-256 (hex) and length of a stream, consumed. */
export async function digestStream(
  s: AsyncIterable<Buffer>,
): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of s) {
    h.update(c);
    bytes += c.length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** The multipart/form-data envelope of one file part named `file`. */
export function multipartEnvelope(
  filename: string,
  size: number,
): { head: Buffer; tail: Buffer; contentType: string; contentLength: number } {
  const boundary = `----lhcms-bench-${filename.replace(/[^a-z0-9]/gi, '')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    'latin1',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  return {
    head,
    tail,
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + size + tail.length,
  };
}

/** Where and how one file goes up: LHCMS (multipart, authenticated) or the raw baseline (the bytes as the body). */
export interface UploadTarget {
  kind: 'lhcms' | 'baseline';
  /** Base URL of the server. */
  url: string;
  /** LHCMS: the case the file is attached to. */
  caseId?: number;
  headers?: Record<string, string>;
}

export interface UploadResult {
  status: number;
  /** LHCMS: the attachment's id and the SHA-256 it computed; baseline: the stored name. */
  id: string;
  sha256?: string;
  body: string;
}

function send(
  agent: http.Agent,
  url: string,
  method: string,
  headers: Record<string, string | number>,
  body: Readable | undefined,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, resolve);
    req.on('error', reject);
    if (!body) {
      req.end();
      return;
    }
    body.on('error', (e) => req.destroy(e));
    body.pipe(req);
  });
}

async function text(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Uploads the payload of `seed` (streamed) and waits for the answer. */
export async function uploadPayload(
  agent: http.Agent,
  t: UploadTarget,
  seed: string,
  size: number,
): Promise<UploadResult> {
  const name = `bench-${seed}.stl`;
  if (t.kind === 'baseline') {
    const res = await send(
      agent,
      `${t.url}/files/${encodeURIComponent(name)}`,
      'PUT',
      { 'content-type': 'application/octet-stream', 'content-length': size, ...t.headers },
      payloadStream(seed, size),
    );
    const body = await text(res);
    return { status: res.statusCode ?? 0, id: name, body };
  }
  const env = multipartEnvelope(name, size);
  const src = payloadStream(seed, size);
  const body = Readable.from(
    (async function* () {
      yield env.head;
      for await (const c of src) yield c as Buffer;
      yield env.tail;
    })(),
    { objectMode: false },
  );
  const res = await send(
    agent,
    `${t.url}/api/v1/cases/${t.caseId}/attachments`,
    'POST',
    { 'content-type': env.contentType, 'content-length': env.contentLength, ...t.headers },
    body,
  );
  const out = await text(res);
  let id = '';
  let sha256: string | undefined;
  try {
    const j = JSON.parse(out) as { id?: string; sha256?: string };
    id = j.id ?? '';
    sha256 = j.sha256;
  } catch {
    /* an error page: the status says so */
  }
  return { status: res.statusCode ?? 0, id, sha256, body: out.slice(0, 300) };
}

/** Downloads one file, hashing it on the way (both servers, so the client's work is the same). */
export async function downloadFile(
  agent: http.Agent,
  t: UploadTarget,
  id: string,
): Promise<{ status: number; sha256: string; bytes: number }> {
  const url =
    t.kind === 'baseline'
      ? `${t.url}/files/${encodeURIComponent(id)}`
      : `${t.url}/api/v1/cases/${t.caseId}/attachments/${id}/content`;
  const res = await send(agent, url, 'GET', { ...t.headers }, undefined);
  const d = await digestStream(res as AsyncIterable<Buffer>);
  return { status: res.statusCode ?? 0, ...d };
}
