/**
 * The raw baseline of the attachments scenario: what Node and the disk do on
 * this machine for the same bytes. `PUT /files/<name>` pipes the request body
 * into a file with stream.pipeline and fsyncs it before answering 201 (the
 * filesystem store fsyncs too: both answer once the bytes are durable);
 * `GET /files/<name>` serves it back with createReadStream. No encryption,
 * no multipart, no framework, no auth, no database.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

const port = Number(process.env.BASELINE_PORT ?? 5098);
const dir = path.resolve(process.env.BASELINE_FILE_DIR ?? 'baseline-files');
fs.mkdirSync(dir, { recursive: true });
const NAME = /^\/files\/([A-Za-z0-9._-]{1,100})$/;

function answer(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function put(req: http.IncomingMessage, file: string): Promise<number> {
  // flush: fsync before the close that pipeline waits for.
  await pipeline(req, fs.createWriteStream(file, { flush: true }));
  return (await fs.promises.stat(file)).size;
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') return answer(res, 200, '{"status":"healthy"}');
  const m = NAME.exec(req.url ?? '');
  if (!m) return answer(res, 404, '{"error":"Not Found"}');
  const file = path.join(dir, m[1]);
  if (req.method === 'PUT') {
    put(req, file).then(
      (size) => answer(res, 201, JSON.stringify({ size })),
      (err: unknown) => answer(res, 500, JSON.stringify({ error: String(err) })),
    );
    return;
  }
  if (req.method === 'DELETE') {
    fs.promises.rm(file, { force: true }).then(
      () => answer(res, 204, ''),
      (err: unknown) => answer(res, 500, JSON.stringify({ error: String(err) })),
    );
    return;
  }
  if (req.method !== 'GET') return answer(res, 405, '{"error":"PUT, GET or DELETE"}');
  fs.stat(file, (err, st) => {
    if (err) return answer(res, 404, '{"error":"Not Found"}');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': st.size,
    });
    pipeline(fs.createReadStream(file), res).catch(() => res.destroy());
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`baseline files listening on http://127.0.0.1:${port}\n`);
});

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
