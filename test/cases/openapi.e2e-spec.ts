import SwaggerParser from '@apidevtools/swagger-parser';
import { request, startStack, type Stack } from '@lhcms/testing';

describe('OpenAPI document', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  it('is served at /api/v1/openapi.json and the old /api/v1/swagger.json, and is valid OpenAPI 3', async () => {
    const doc = await request(s.api.url, '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const old = await request(s.api.url, '/api/v1/swagger.json');
    expect(old.body).toEqual(doc.body);
    await expect(SwaggerParser.validate(structuredClone(doc.body))).resolves.toBeDefined();
  });

  it('documents every v1 operation with its success and error responses', async () => {
    const doc = (await request(s.api.url, '/api/v1/openapi.json')).body;
    const ops: Array<[string, string, any]> = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) ops.push([method, path, op]);
    }
    const v1 = ops.filter(
      ([, p]) => p.startsWith('/api/v1/cases') || p.startsWith('/api/v1/audit-events'),
    );
    expect(v1.map(([m, p]) => `${m.toUpperCase()} ${p}`).sort()).toEqual(
      [
        'DELETE /api/v1/cases/{id}',
        'GET /api/v1/cases',
        'GET /api/v1/cases/doctor-info/{doctor_id}',
        'GET /api/v1/cases/materials',
        'GET /api/v1/cases/shades',
        'GET /api/v1/cases/types',
        'GET /api/v1/cases/{id}',
        'PATCH /api/v1/cases/{id}/status',
        'POST /api/v1/cases',
        'PUT /api/v1/cases/{id}',
        'GET /api/v1/cases/by-number/{case_number}',
        'GET /api/v1/cases/{id}/events',
        'PATCH /api/v1/cases/{id}/stage',
        'POST /api/v1/cases/bulk-status',
        'POST /api/v1/cases/{id}/remake',
        'GET /api/v1/cases/{id}/access-log',
        'GET /api/v1/audit-events',
        'GET /api/v1/audit-events/export',
        'GET /api/v1/audit-events/verify',
        'POST /api/v1/audit-events/patient-access-report',
        'GET /api/v1/cases/{id}/notes',
        'POST /api/v1/cases/{id}/notes',
        'GET /api/v1/cases/{id}/notes/{note_id}',
        'PUT /api/v1/cases/{id}/notes/{note_id}',
        'DELETE /api/v1/cases/{id}/notes/{note_id}',
        'GET /api/v1/cases/{id}/notes/{note_id}/revisions',
        'POST /api/v1/cases/{id}/attachments',
        'GET /api/v1/cases/{id}/attachments',
        'GET /api/v1/cases/{id}/attachments/{attachment_id}/content',
        'DELETE /api/v1/cases/{id}/attachments/{attachment_id}',
      ].sort(),
    );
    for (const [method, path, op] of v1) {
      const codes = Object.keys(op.responses);
      expect(codes.some((c) => c.startsWith('2'))).toBe(true);
      const isPublic = /types|shades|materials/.test(path);
      if (!isPublic) {
        expect({ op: `${method} ${path}`, has401: codes.includes('401') }).toEqual({
          op: `${method} ${path}`,
          has401: true,
        });
        expect(op.security).toBeDefined();
      }
      for (const c of codes.filter((x) => Number(x) >= 400)) {
        expect(op.responses[c].content['application/json'].schema.$ref).toBe(
          '#/components/schemas/Error',
        );
      }
    }
    expect(doc.components.schemas.Case.properties).toHaveProperty('dental_details');
    expect(doc.components.schemas.Shade.required).not.toContain('shade_id');
    expect(doc.components.schemas.AuditEvent.properties).toHaveProperty('patient_ref');
    expect(doc.components.schemas.NoteInput.properties.text.maxLength).toBe(10_000);
    expect(doc.components.schemas.NoteInput.additionalProperties).toBe(false);
    expect(doc.components.schemas.CaseEvent.properties).toHaveProperty('note_id');
    expect(
      doc.paths['/api/v1/cases/{id}/notes/{note_id}'].put.parameters.map((p: any) => p.name),
    ).toEqual(expect.arrayContaining(['id', 'note_id', 'If-Match', 'X-Lab-Id']));
    expect(doc.paths['/api/v1/audit-events/export'].get.responses['200'].content).toHaveProperty(
      'application/fhir+ndjson',
    );
  });

  it('serves the interactive docs at /docs', async () => {
    const res = await request(s.api.url, '/docs');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/swagger/i);
  });
});
