import type { FastifyInstance } from 'fastify';
import { ValidationFailedError } from '../errors/domain-error';

/** `application/json` and the `+json` types (`application/merge-patch+json`), with or without parameters. */
export const JSON_MEDIA_TYPE = /^application\/(?:[\w.!#$&^-]+\+)?json\s*(?:;|$)/i;

/**
 * Route config key of the routes that take a multipart body (attachment
 * uploads), set through `@Audited(spec, { [MULTIPART_ROUTE_CONFIG]: true })`.
 * Those routes, and only those, accept `multipart/form-data`, which they read
 * as a stream; they refuse JSON.
 */
export const MULTIPART_ROUTE_CONFIG = 'lhcmsMultipart';

export const MULTIPART_MEDIA_TYPE = /^multipart\/form-data\s*;/i;

/**
 * Route config key of a route whose method does not usually carry a body
 * (DELETE) but that takes a JSON one: like POST/PUT/PATCH, it refuses any
 * other media type with 415.
 */
export const JSON_BODY_ROUTE_CONFIG = 'lhcmsJsonBody';

/** Whether the request's route takes a JSON body whatever its method. */
export function takesJsonBody(config: unknown): boolean {
  return (config as Record<string, unknown> | undefined)?.[JSON_BODY_ROUTE_CONFIG] === true;
}

/** Whether the request's route takes a multipart body. */
export function takesMultipart(config: unknown): boolean {
  return (config as Record<string, unknown> | undefined)?.[MULTIPART_ROUTE_CONFIG] === true;
}

export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && JSON_MEDIA_TYPE.test(header.trim());
}

/**
 * Whether the JSON text nests arrays and objects deeper than `max` levels (the
 * outermost value is level 1). One pass over the characters, no recursion and
 * no allocation: it runs before JSON.parse, so that nothing recursive (parse,
 * validation, serialisation, the database's JSON functions) ever sees a
 * pathological body.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * The only body parser of the API: JSON (`application/json`, `+json`) with
 * Fastify's own parser (prototype poisoning refused) behind a nesting limit.
 * Every other content type — text/plain, form-urlencoded, multipart — has no
 * parser, so Fastify refuses it with 415 in the one error shape. The
 * application must be created with `bodyParser: false`, so that Nest does not
 * add its own JSON and form parsers.
 */
export function installJsonBodyParser(fastify: FastifyInstance, maxDepth: number): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (req, body, done) => {
    if (nestsDeeperThan(body as string, maxDepth)) {
      done(
        new ValidationFailedError({
          '': `must not nest arrays and objects deeper than ${maxDepth} levels`,
        }),
        undefined,
      );
      return;
    }
    void parse(req, body as string, done);
  });
}
