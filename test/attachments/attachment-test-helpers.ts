import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { request as httpRequest } from 'node:http';
import type { Stack } from '@lhcms/testing';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A binary STL of `triangles` triangles (a valid size), with varied bytes. */
export function binaryStl(triangles: number, seed = 1): Buffer {
  const b = Buffer.alloc(84 + triangles * 50);
  b.write('binary stl from a test scanner', 0, 'latin1');
  b.writeUInt32LE(triangles, 80);
  let x = seed;
  for (let i = 84; i < b.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x & 0xff;
  }
  return b;
}

export const PDF = Buffer.from(
  '%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
  'latin1',
);

export interface UploadParts {
  file?: { name: string; data: Buffer; field?: string };
  extraFile?: { name: string; data: Buffer; field?: string };
  kind?: string;
  sha256?: string;
  /** Text fields sent after the file. */
  after?: Record<string, string>;
}

/** A multipart/form-data body built by hand (field order as given). */
export function multipartBody(p: UploadParts): { body: Buffer; contentType: string } {
  const boundary = `----lhcms-test-${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  const field = (name: string, value: string) =>
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      ),
    );
  const file = (f: { name: string; data: Buffer; field?: string }) => {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.field ?? 'file'}"; filename="${f.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        'utf8',
      ),
      f.data,
      Buffer.from('\r\n'),
    );
  };
  if (p.kind !== undefined) field('kind', p.kind);
  if (p.sha256 !== undefined) field('sha256', p.sha256);
  if (p.file) file(p.file);
  if (p.extraFile) file(p.extraFile);
  for (const [k, v] of Object.entries(p.after ?? {})) field(k, v);
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any;
}

/** One request over node:http (bodies as bytes, any headers). */
export function raw(
  baseUrl: string,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${path}`,
      { method: o.method ?? 'GET', headers: o.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export async function upload(
  s: Stack,
  user: string,
  caseId: number,
  parts: UploadParts,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const { body, contentType } = multipartBody(parts);
  return raw(s.api.url, `/api/v1/cases/${caseId}/attachments`, {
    method: 'POST',
    body,
    headers: {
      authorization: `Bearer ${await s.token(user)}`,
      'content-type': contentType,
      ...headers,
    },
  });
}

export async function download(
  s: Stack,
  user: string,
  caseId: number,
  id: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return raw(s.api.url, `/api/v1/cases/${caseId}/attachments/${id}/content`, {
    headers: { authorization: `Bearer ${await s.token(user)}`, ...headers },
  });
}

export async function newCase(
  s: Stack,
  user = 'admin',
  patientId = 'ATT-PATIENT',
): Promise<number> {
  const res = await s.as(user, '/api/v1/cases/', {
    method: 'POST',
    body: {
      doctor_id: 'att-doc',
      product_id: 'p',
      case_type: 'other',
      patient_info: { patient_id: patientId },
    },
  });
  if (res.status !== 201) throw new Error(`case create failed: ${res.status} ${res.text}`);
  return res.body.id as number;
}

/** Every file under a folder, recursively (the filesystem store's objects, temp files included). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}
