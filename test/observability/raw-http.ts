import * as net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/**
 * Sends one HTTP/1.1 request over a plain socket with the body in a separate
 * TCP segment `gapMs` after the headers — as a real client on a real network
 * often does, and what makes Fastify parse the body in a later event-loop
 * turn than the one that received the headers.
 */
export function splitBodyRequest(
  baseUrl: string,
  o: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string;
    gapMs?: number;
  },
): Promise<RawResponse> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.setNoDelay(true);
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const text = rest.join('\r\n\r\n');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.on('connect', () => {
      const headers = {
        host: '127.0.0.1',
        connection: 'close',
        'content-length': String(Buffer.byteLength(o.body)),
        ...o.headers,
      };
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.write(`${o.method} ${o.path} HTTP/1.1\r\n${head}\r\n\r\n`);
      setTimeout(() => socket.write(o.body), o.gapMs ?? 50);
    });
  });
}
