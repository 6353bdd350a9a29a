import { connect } from 'node:net';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, startStack, type Stack, type TestS3Server } from '@lhcms/testing';
import { describeWithTool, weed } from '../deploy/tools';
import {
  binaryStl,
  download,
  multipartBody,
  newCase,
  PDF,
  sha256,
  upload,
} from './attachment-test-helpers';

/**
 * The attachment routes on the S3 store, against a real S3-compatible server
 * (SeaweedFS): the bytes in the bucket are ciphertext under random keys,
 * downloads and ranges are byte-identical, refused uploads leave no object,
 * and readiness reports the store.
 */
describeWithTool(weed(), 'attachments API (S3 store on SeaweedFS)', (bin) => {
  let server: TestS3Server;
  let s: Stack;
  let s3: S3Client;
  const stl = binaryStl(4000);

  beforeAll(async () => {
    server = await startS3Server(bin);
    s = await startStack({
      env: {
        ATTACHMENT_STORE: 's3',
        S3_ENDPOINT: server.endpoint,
        S3_BUCKET: server.bucket,
        S3_REGION: server.region,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: server.accessKeyId,
        S3_SECRET_ACCESS_KEY: server.secretAccessKey,
        ATTACHMENT_MAX_BYTES: '300000',
        // An outage is found within seconds (the outage test), not the default 30 s.
        S3_TIMEOUT_MS: '2000',
      },
    });
    s3 = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
  }, 120_000);
  afterAll(async () => {
    s3?.destroy();
    await s?.close();
    await server?.close();
  });

  async function bucketKeys(): Promise<string[]> {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: server.bucket }));
    return (r.Contents ?? []).map((o) => o.Key ?? '');
  }

  it('upload, list, download (whole and ranges), delete; the bucket holds ciphertext under random keys', async () => {
    const caseId = await newCase(s);
    const up = await upload(s, 'tech', caseId, { file: { name: 'lower jaw.stl', data: stl } });
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({
      size: stl.length,
      sha256: sha256(stl),
      content_type: 'model/stl',
    });
    const keys = await bucketKeys();
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k).not.toContain(up.json.id);
      expect(k).not.toContain('jaw');
    }
    const got = await download(s, 'viewer', caseId, up.json.id);
    expect(got.status).toBe(200);
    expect(got.body.equals(stl)).toBe(true);
    const part = await download(s, 'viewer', caseId, up.json.id, { range: 'bytes=70000-140000' });
    expect(part.status).toBe(206);
    expect(part.body.equals(stl.subarray(70000, 140001))).toBe(true);
    expect(
      (await download(s, 'viewer', caseId, up.json.id, { range: 'bytes=999999-' })).status,
    ).toBe(416);
    const list = await s.as('viewer', `/api/v1/cases/${caseId}/attachments`);
    expect(list.body.attachments.map((a: any) => a.id)).toEqual([up.json.id]);
    const del = await s.as('tech', `/api/v1/cases/${caseId}/attachments/${up.json.id}`, {
      method: 'DELETE',
      body: { reason: 'test' },
    });
    expect(del.status).toBe(204);
    expect((await download(s, 'viewer', caseId, up.json.id)).status).toBe(404);
  });

  it('refused uploads leave no object in the bucket', async () => {
    const caseId = await newCase(s);
    const before = (await bucketKeys()).length;
    expect((await upload(s, 'tech', caseId, { file: { name: 'x.stl', data: PDF } })).status).toBe(
      415,
    );
    expect(
      (await upload(s, 'tech', caseId, { file: { name: 'big.stl', data: binaryStl(10_000) } }))
        .status,
    ).toBe(413);
    expect(
      (await upload(s, 'tech', caseId, { file: { name: 'a.pdf', data: PDF }, sha256: sha256('x') }))
        .status,
    ).toBe(422);
    expect((await bucketKeys()).length).toBe(before);
  });

  it('a client that disconnects mid-upload (parts already in the bucket) leaves no row, no object and no open multipart upload', async () => {
    // A stack of its own: files beyond one multipart part (8 MiB) are allowed here.
    const big = await startStack({
      env: {
        ATTACHMENT_STORE: 's3',
        S3_ENDPOINT: server.endpoint,
        S3_BUCKET: server.bucket,
        S3_REGION: server.region,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: server.accessKeyId,
        S3_SECRET_ACCESS_KEY: server.secretAccessKey,
      },
    });
    try {
      const caseId = await newCase(big);
      const before = (await bucketKeys()).length;
      const { body, contentType } = multipartBody({
        file: { name: 'cut.stl', data: binaryStl(500_000) }, // ~25 MB
      });
      const token = await big.token('tech');
      const url = new URL(big.api.url);
      let multipartSeen = false;
      const sock = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
        const c = connect(Number(url.port), url.hostname, () => resolve(c));
        c.on('error', reject);
      });
      sock.write(
        `POST /api/v1/cases/${caseId}/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      // 18 MB of 25: two parts are on their way to the bucket, then the client is gone.
      await new Promise<void>((resolve) =>
        sock.write(body.subarray(0, 18_000_000), () => resolve()),
      );
      const until = Date.now() + 10_000;
      while (!multipartSeen && Date.now() < until) {
        const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
        multipartSeen = (open.Uploads ?? []).length > 0;
        if (!multipartSeen) await new Promise((r) => setTimeout(r, 100));
      }
      sock.destroy();
      // The cut reached the store mid-way (the test would prove nothing otherwise).
      expect(multipartSeen).toBe(true);
      const end = Date.now() + 15_000;
      let open = -1;
      let keys = -1;
      while (Date.now() < end) {
        open = (
          (await s3.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }))).Uploads ?? []
        ).length;
        keys = (await bucketKeys()).length;
        if (open === 0 && keys === before) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect({ open, keys }).toEqual({ open: 0, keys: before });
      const list = await big.as('viewer', `/api/v1/cases/${caseId}/attachments`);
      expect(list.body.attachments).toEqual([]);
    } finally {
      await big.close();
    }
  });

  it('readiness reports the store; a store outage is 503 for attachments and degraded readiness', async () => {
    const ready = await fetch(`${s.api.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain('storage');
    const caseId = await newCase(s);
    await server.stop();
    try {
      const up = await upload(s, 'tech', caseId, { file: { name: 'a.pdf', data: PDF } });
      expect(up.status).toBe(503);
      expect(up.headers['retry-after']).toBeDefined();
      const degraded = await fetch(`${s.api.url}/health/ready`);
      expect(degraded.status).toBe(200);
      expect(JSON.stringify(await degraded.json())).toContain('degraded');
    } finally {
      await server.start();
    }
  }, 60_000);
});
