import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TransferGc } from '@lhcms/storage';
import { startStack, type Stack } from '@lhcms/testing';
import {
  binaryStl,
  download,
  multipartBody,
  newCase,
  PDF,
  raw,
  sha256,
  filesUnder,
  upload,
} from './attachment-test-helpers';

/**
 * The attachment routes on the filesystem store: upload, list, download
 * (whole and ranges), soft delete; encryption at rest; roles; lab isolation.
 */
describe('attachments API (filesystem store)', () => {
  let s: Stack;
  let dir: string;
  let caseId: number;
  const stl = binaryStl(4000); // ~200 KB: several 64 KiB segments

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lhcms-att-'));
    s = await startStack({ env: { ATTACHMENT_DIR: dir } });
    caseId = await newCase(s);
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads (201 with metadata), lists, and serves the bytes back identical; the stored bytes are not the plaintext', async () => {
    const up = await upload(s, 'tech', caseId, {
      file: { name: 'upper jaw.stl', data: stl },
      kind: 'scan',
    });
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({
      case_id: caseId,
      kind: 'scan',
      filename: 'upper jaw.stl',
      content_type: 'model/stl',
      size: stl.length,
      sha256: sha256(stl),
    });
    expect(up.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.json).not.toHaveProperty('object_key');

    const list = await s.as('viewer', `/api/v1/cases/${caseId}/attachments`);
    expect(list.status).toBe(200);
    expect(list.body.attachments.map((a: any) => a.id)).toContain(up.json.id);

    const got = await download(s, 'viewer', caseId, up.json.id);
    expect(got.status).toBe(200);
    expect(got.body.equals(stl)).toBe(true);
    expect(got.headers['content-type']).toBe('model/stl');
    expect(got.headers.etag).toBe(`"${sha256(stl)}"`);
    expect(got.headers['accept-ranges']).toBe('bytes');
    expect(got.headers['content-disposition']).toContain('upper jaw.stl');

    const files = filesUnder(dir).filter((f) => !path.basename(f).startsWith('.'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const stored = readFileSync(f);
      expect(stored.includes(stl.subarray(100, 164))).toBe(false);
      expect(path.basename(f)).not.toContain(up.json.id);
      expect(f).not.toContain('upper');
    }
    expect(files.some((f) => statSync(f).size > stl.length)).toBe(true);
  });

  it('counts every byte an upload receives and a download serves for the collection pacing (ADR 0025)', async () => {
    const pacer = s.api.app.get(TransferGc);
    const note = jest.spyOn(pacer, 'note');
    try {
      const up = await upload(s, 'tech', caseId, { file: { name: 'paced.stl', data: stl } });
      expect(up.status).toBe(201);
      const received = note.mock.calls.reduce((n, [b]) => n + b, 0);
      expect(received).toBe(stl.length);
      note.mockClear();
      const got = await download(s, 'viewer', caseId, up.json.id);
      expect(got.body.equals(stl)).toBe(true);
      expect(note.mock.calls.reduce((n, [b]) => n + b, 0)).toBe(stl.length);
    } finally {
      note.mockRestore();
    }
  });

  it('serves byte ranges (206) across segments, and 416 beyond the end', async () => {
    const up = await upload(s, 'tech', caseId, { file: { name: 'r.stl', data: stl } });
    const id = up.json.id as string;
    for (const [range, start, end] of [
      ['bytes=0-9', 0, 9],
      ['bytes=65530-65545', 65530, 65545],
      ['bytes=100000-', 100000, stl.length - 1],
      ['bytes=-50', stl.length - 50, stl.length - 1],
    ] as const) {
      const r = await download(s, 'viewer', caseId, id, { range });
      expect(r.status).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${stl.length}`);
      expect(r.body.equals(stl.subarray(start, end + 1))).toBe(true);
    }
    const beyond = await download(s, 'viewer', caseId, id, { range: `bytes=${stl.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${stl.length}`);
    expect(beyond.json).toMatchObject({ code: 416 });
  });

  it('soft delete with a reason: gone from the list, content 404; a reason is required', async () => {
    const up = await upload(s, 'tech', caseId, { file: { name: 'd.pdf', data: PDF } });
    const id = up.json.id as string;
    const noReason = await s.as('tech', `/api/v1/cases/${caseId}/attachments/${id}`, {
      method: 'DELETE',
      body: {},
    });
    expect(noReason.status).toBe(400);
    const del = await s.as('tech', `/api/v1/cases/${caseId}/attachments/${id}`, {
      method: 'DELETE',
      body: { reason: 'wrong patient file' },
    });
    expect(del.status).toBe(204);
    const list = await s.as('viewer', `/api/v1/cases/${caseId}/attachments`);
    expect(list.body.attachments.map((a: any) => a.id)).not.toContain(id);
    expect((await download(s, 'viewer', caseId, id)).status).toBe(404);
    const again = await s.as('tech', `/api/v1/cases/${caseId}/attachments/${id}`, {
      method: 'DELETE',
      body: { reason: 'again' },
    });
    expect(again.status).toBe(404);
  });

  it('the timeline shows attachment events without filenames', async () => {
    const up = await upload(s, 'tech', caseId, { file: { name: 'secret-name.pdf', data: PDF } });
    const events = await s.as('viewer', `/api/v1/cases/${caseId}/events`);
    expect(events.status).toBe(200);
    const added = events.body.events.filter((e: any) => e.event_type === 'attachment_added');
    expect(added.length).toBeGreaterThan(0);
    expect(JSON.stringify(events.body)).not.toContain('secret-name');
    expect(JSON.stringify(added)).toContain(up.json.id);
  });

  it('roles: a viewer lists and downloads but cannot upload or delete', async () => {
    const up = await upload(s, 'viewer', caseId, { file: { name: 'v.pdf', data: PDF } });
    expect(up.status).toBe(403);
    const mine = await upload(s, 'tech', caseId, { file: { name: 'v.pdf', data: PDF } });
    const del = await s.as('viewer', `/api/v1/cases/${caseId}/attachments/${mine.json.id}`, {
      method: 'DELETE',
      body: { reason: 'x' },
    });
    expect(del.status).toBe(403);
    expect((await download(s, 'viewer', caseId, mine.json.id)).status).toBe(200);
  });

  it("another lab's attachment is answered exactly like a missing one", async () => {
    const up = await upload(s, 'tech', caseId, { file: { name: 'iso.pdf', data: PDF } });
    const id = up.json.id as string;
    const otherCase = await newCase(s, 'lab2admin');
    const missing = '00000000-0000-4000-8000-000000000000';
    const strip = (b: any) => {
      const { request_id: _r, timestamp: _t, ...rest } = b ?? {};
      return rest;
    };
    // Through the owner's case id: the case itself is not found.
    const foreign = await download(s, 'lab2admin', caseId, id);
    const none = await download(s, 'lab2admin', 2_147_480_000, missing);
    expect(foreign.status).toBe(404);
    expect(strip(foreign.json)).toEqual(strip(none.json));
    // Through the caller's own case: the attachment is not found.
    const viaOwn = await download(s, 'lab2admin', otherCase, id);
    const noneOwn = await download(s, 'lab2admin', otherCase, missing);
    expect(viaOwn.status).toBe(404);
    expect(strip(viaOwn.json)).toEqual(strip(noneOwn.json));
    const list = await s.as('lab2admin', `/api/v1/cases/${caseId}/attachments`);
    expect(list.status).toBe(404);
    const del = await s.as('lab2admin', `/api/v1/cases/${otherCase}/attachments/${id}`, {
      method: 'DELETE',
      body: { reason: 'x' },
    });
    expect(del.status).toBe(404);
    expect((await download(s, 'tech', caseId, id)).status).toBe(200);
  });

  it('multipart is refused on every other route (415), and the upload route refuses JSON (415)', async () => {
    const json = await s.as('tech', `/api/v1/cases/${caseId}/attachments`, {
      method: 'POST',
      body: { file: 'x' },
    });
    expect(json.status).toBe(415);
    const mp = multipartBody({ file: { name: 'x.pdf', data: PDF } });
    const onCases = await raw(s.api.url, '/api/v1/cases/', {
      method: 'POST',
      body: mp.body,
      headers: {
        authorization: `Bearer ${await s.token('admin')}`,
        'content-type': mp.contentType,
      },
    });
    expect(onCases.status).toBe(415);
  });
});
