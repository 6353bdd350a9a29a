import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { registeredSchemas } from '../validation/schema.pipe';

export const OPENAPI_PATHS = ['/api/v1/openapi.json', '/api/v1/swagger.json'] as const;

/** The OpenAPI 3 document, generated from the controllers and the wire schemas. */
export function buildOpenApi(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Case Service API (LHCMS)')
    .setDescription(
      'LHCMS v1 — the case management API of the dental-laboratory platform, wire-compatible with the original Flask LHCMS. ' +
        'Authenticate with a UMS access token (`Authorization: Bearer <jwt>`); every case belongs to one lab (`X-Lab-Id` or your first active membership). ' +
        'Every error has one shape (`Error`).',
    )
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  doc.components = {
    ...(doc.components ?? {}),
    schemas: {
      ...(doc.components?.schemas ?? {}),
      // Every module's registered wire schemas.
      ...registeredSchemas(),
    },
  };
  return doc;
}

/** Serves the document at /api/v1/openapi.json (and the original's /api/v1/swagger.json) and the UI at /docs. */
export function mountOpenApi(app: INestApplication, doc: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, doc, {
    jsonDocumentUrl: OPENAPI_PATHS[0],
    yamlDocumentUrl: '/api/v1/openapi.yaml',
    customSiteTitle: 'LHCMS API v1',
  });
}

/**
 * Every field and parameter name the API declares: the properties of every
 * schema and the parameters of every operation. An error may name these; any
 * other key is the client's own (a free-form `patient_info` key can be PHI)
 * and is never repeated back.
 */
export function declaredFieldNames(doc: OpenAPIObject): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (k === 'properties' && typeof v === 'object' && v !== null)
        for (const name of Object.keys(v)) names.add(name);
      if (k === 'parameters' && Array.isArray(v))
        for (const p of v as Array<{ name?: unknown }>)
          if (typeof p.name === 'string') names.add(p.name);
      walk(v);
    }
  };
  walk(doc.components?.schemas);
  walk(doc.paths);
  return names;
}
