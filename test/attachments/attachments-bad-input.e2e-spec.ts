import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { JPEG_WITH_EXIF } from '../../apps/api/src/attachments/metadata-strip.fixtures';
import { eventually, startStack, type Stack, testDatabaseUrls } from '@lhcms/testing';
import {
  binaryStl,
  download,
  multipartBody,
  newCase,
  PDF,
  sha256,
  filesUnder,
  upload,
} from './attachment-test-helpers';

const MAX_BYTES = 300_000;

/**
 * Every bad input of an upload is a clear 4xx in the one error shape and
 * leaves nothing: no row, no object (also no temp file). Plus: a tampered or
 * truncated stored object is never served.
 */
describe('attachments: bad input and integrity', () => {
  let s: Stack;
  let dir: string;
  let owner: Client;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lhcms-att-bad-'));
    s = await startStack({
      env: {
        ATTACHMENT_DIR: dir,
        ATTACHMENT_MAX_BYTES: String(MAX_BYTES),
        ATTACHMENT_MAX_PER_CASE: '3',
        ATTACHMENT_MAX_CASE_BYTES: '500000',
      },
    });
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner.end();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rowsOf(caseId: number): Promise<number> {
    const r = await owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM attachments WHERE case_id = $1`,
      [caseId],
    );
    return r.rows[0].n;
  }

  /** Runs a refused upload and checks: the status, the one error shape, no row, no new object. */
  async function refused(
    status: number,
    parts: Parameters<typeof upload>[3],
    headers: Record<string, string> = {},
  ) {
    const caseId = await newCase(s);
    const before = filesUnder(dir).length;
    const res = await upload(s, 'tech', caseId, parts, headers);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ code: status, message: expect.any(String) });
    expect(res.json.request_id).toEqual(expect.any(String));
    expect(await rowsOf(caseId)).toBe(0);
    expect(filesUnder(dir).length).toBe(before);
    return res;
  }

  it('a .stl that is a PDF: 415 naming the detected type', async () => {
    const res = await refused(415, { file: { name: 'crown.stl', data: PDF } });
    expect(res.json.detected_type).toBe('application/pdf');
    expect(res.json.message).toContain('application/pdf');
  });

  it('a type not allowed: 415 naming it', async () => {
    const res = await refused(415, { file: { name: 'notes.txt', data: Buffer.from('hello\n') } });
    expect(res.json.detected_type).toBe('application/octet-stream');
    const zip = Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(100, 1)]);
    const z = await refused(415, { file: { name: 'a.zip', data: zip } });
    expect(z.json.detected_type).toBe('application/zip');
  });

  it('a "binary STL" whose size does not match its triangle count: 415', async () => {
    const stl = binaryStl(10);
    await refused(415, { file: { name: 'bad.stl', data: stl.subarray(0, stl.length - 7) } });
  });

  it('an empty file: 400', async () => {
    const res = await refused(400, { file: { name: 'empty.stl', data: Buffer.alloc(0) } });
    expect(res.json.code).toBe(400);
  });

  it('no file part, two file parts, a file in another part: 400', async () => {
    await refused(400, { kind: 'scan' });
    await refused(400, {
      file: { name: 'a.pdf', data: PDF },
      extraFile: { name: 'b.pdf', data: PDF },
    });
    await refused(400, { file: { name: 'a.pdf', data: PDF, field: 'document' } });
  });

  it('an unknown kind or field: 400', async () => {
    await refused(400, { file: { name: 'a.pdf', data: PDF }, kind: 'xray' });
    await refused(400, { file: { name: 'a.pdf', data: PDF }, after: { comment: 'x' } });
  });

  it('a wrong checksum (field, Content-Digest, Digest): 422; a right one is accepted', async () => {
    const wrong = sha256('something else');
    await refused(422, { file: { name: 'a.pdf', data: PDF }, sha256: wrong });
    await refused(422, { file: { name: 'a.pdf', data: PDF }, after: { sha256: wrong } });
    const b64 = Buffer.from(wrong, 'hex').toString('base64');
    await refused(
      422,
      { file: { name: 'a.pdf', data: PDF } },
      { 'content-digest': `sha-256=:${b64}:` },
    );
    await refused(422, { file: { name: 'a.pdf', data: PDF } }, { digest: `SHA-256=${b64}` });
    await refused(400, { file: { name: 'a.pdf', data: PDF }, sha256: 'not-a-hash' });
    const caseId = await newCase(s);
    const right = Buffer.from(sha256(PDF), 'hex').toString('base64');
    const ok = await upload(
      s,
      'tech',
      caseId,
      { file: { name: 'a.pdf', data: PDF } },
      {
        'content-digest': `sha-256=:${right}:`,
      },
    );
    expect(ok.status).toBe(201);
  });

  it('over the size limit: 413 while the client is still sending, nothing stored', async () => {
    const caseId = await newCase(s);
    const before = filesUnder(dir).length;
    const { body, contentType } = multipartBody({
      file: { name: 'big.stl', data: binaryStl(20_000) }, // ~1 MB, the limit is 300 KB
    });
    const head = body.subarray(0, MAX_BYTES + 100_000);
    const token = await s.token('tech');
    const url = new URL(s.api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        sock.write(
          `POST /api/v1/cases/${caseId}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        sock.write(head); // and never the rest: the answer must not wait for it
      });
      let text = '';
      sock.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n') && text.includes('}')) {
          sock.destroy();
          resolve(text);
        }
      });
      sock.on('error', reject);
      setTimeout(() => {
        sock.destroy();
        reject(new Error(`no answer before the body was complete: ${text}`));
      }, 10_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('"code":413');
    await eventually(async () => filesUnder(dir).length === before);
    expect(await rowsOf(caseId)).toBe(0);
  });

  it('an upload aborted mid-way leaves no row and no object', async () => {
    const caseId = await newCase(s);
    const before = filesUnder(dir).length;
    const { body, contentType } = multipartBody({
      file: { name: 'cut.stl', data: binaryStl(5000) },
    });
    const token = await s.token('tech');
    const url = new URL(s.api.url);
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        sock.write(
          `POST /api/v1/cases/${caseId}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        sock.write(body.subarray(0, 150_000), () => {
          setTimeout(() => {
            sock.destroy();
            resolve();
          }, 300);
        });
      });
      sock.on('error', reject);
    });
    await eventually(async () => filesUnder(dir).length === before, 5000);
    expect(await rowsOf(caseId)).toBe(0);
  });

  it('per-case limits: the count (409) and the total bytes (413)', async () => {
    const caseId = await newCase(s);
    for (let i = 0; i < 3; i++) {
      expect(
        (await upload(s, 'tech', caseId, { file: { name: `${i}.pdf`, data: PDF } })).status,
      ).toBe(201);
    }
    const fourth = await upload(s, 'tech', caseId, { file: { name: '3.pdf', data: PDF } });
    expect(fourth.status).toBe(409);
    expect(await rowsOf(caseId)).toBe(3);

    const big = await newCase(s);
    const stl = binaryStl(5000); // 250 KB each; the case total is 500 KB
    expect((await upload(s, 'tech', big, { file: { name: 'a.stl', data: stl } })).status).toBe(201);
    const over = await upload(s, 'tech', big, { file: { name: 'b.stl', data: stl } });
    expect(over.status).toBe(413);
    expect(over.json.message).toContain('total');
    expect(await rowsOf(big)).toBe(1);
  });

  it.each([
    ['../../etc/passwd.pdf', 'passwd.pdf'],
    ['C:\\Users\\x\\scan.pdf', 'scan.pdf'],
    ['inv\u202Efdp.pdf', 'invfdp.pdf'],
    ['nul\u0000byte.pdf', 'nulbyte.pdf'],
  ])('the filename %j is stored sanitised', async (sent, stored) => {
    const caseId = await newCase(s);
    const res = await upload(s, 'tech', caseId, { file: { name: sent, data: PDF } });
    expect(res.status).toBe(201);
    expect(res.json.filename).toBe(stored);
    const list = await s.as('viewer', `/api/v1/cases/${caseId}/attachments`);
    expect(list.body.attachments[0].filename).toBe(stored);
  });

  it('a 1000-character filename is cut, keeping its extension', async () => {
    const caseId = await newCase(s);
    const res = await upload(s, 'tech', caseId, {
      file: { name: `${'x'.repeat(1000)}.pdf`, data: PDF },
    });
    expect(res.status).toBe(201);
    expect(res.json.filename.length).toBe(200);
    expect(res.json.filename.endsWith('.pdf')).toBe(true);
  });

  it('JPEG EXIF/GPS is stripped; size and SHA-256 are of the stored bytes', async () => {
    const caseId = await newCase(s);
    const res = await upload(s, 'tech', caseId, { file: { name: 'p.jpg', data: JPEG_WITH_EXIF } });
    expect(res.status).toBe(201);
    expect(res.json.kind).toBe('photo');
    const got = await download(s, 'viewer', caseId, res.json.id);
    expect(got.body.toString('latin1')).not.toContain('GPS');
    expect(got.body.length).toBeLessThan(JPEG_WITH_EXIF.length);
    expect(res.json.size).toBe(got.body.length);
    expect(res.json.sha256).toBe(sha256(got.body));
  });

  async function objectPathOf(id: string): Promise<string> {
    const r = await owner.query<{ object_key: string }>(
      `SELECT object_key FROM attachments WHERE id = $1`,
      [id],
    );
    return path.join(dir, r.rows[0].object_key);
  }

  it('a tampered stored object is refused (500), never served', async () => {
    const caseId = await newCase(s);
    const stl = binaryStl(3000);
    const up = await upload(s, 'tech', caseId, { file: { name: 't.stl', data: stl } });
    const file = await objectPathOf(up.json.id);
    const bytes = readFileSync(file);
    bytes[100] ^= 0x01;
    writeFileSync(file, bytes);
    const got = await download(s, 'viewer', caseId, up.json.id);
    expect(got.status).toBe(500);
    expect(got.json).toMatchObject({ code: 500 });
    expect(got.body.includes(stl.subarray(0, 64))).toBe(false);
    // A range in an intact later segment still decrypts; the tampered one does not.
    const late = await download(s, 'viewer', caseId, up.json.id, { range: 'bytes=140000-140010' });
    expect(late.status).toBe(206);
    const early = await download(s, 'viewer', caseId, up.json.id, { range: 'bytes=0-10' });
    expect(early.status).toBe(500);
    const metrics = await fetch(`${s.api.url}/metrics`, {
      headers: s.env.METRICS_TOKEN ? { authorization: `Bearer ${s.env.METRICS_TOKEN}` } : {},
    });
    if (metrics.ok) {
      expect(await metrics.text()).toMatch(/lhcms_attachment_integrity_failures_total [1-9]/);
    }
  });

  it('a truncated or missing stored object is refused (500)', async () => {
    const caseId = await newCase(s);
    const up = await upload(s, 'tech', caseId, { file: { name: 't.pdf', data: PDF } });
    const file = await objectPathOf(up.json.id);
    truncateSync(file, 40);
    expect((await download(s, 'viewer', caseId, up.json.id)).status).toBe(500);
    rmSync(file);
    expect((await download(s, 'viewer', caseId, up.json.id)).status).toBe(500);
  });
});
