import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { ClsServiceManager } from 'nestjs-cls';
import { LoggerModule } from 'nestjs-pino';
import type { LhcmsStore } from '@lhcms/request-context';
import { redactPaths } from './phi-fields';

const PROBES = /^\/health(\/|$|\?)/;

/** Fields every request line carries besides pino-http's own. */
function contextFields(req: IncomingMessage): Record<string, unknown> {
  const route = (req as IncomingMessage & { routeTemplate?: string }).routeTemplate;
  const cls = ClsServiceManager.getClsService<LhcmsStore>();
  if (!cls.isActive()) return { route };
  const principal = cls.get('principal');
  const lab = cls.get('lab');
  return {
    request_id: cls.getId(),
    route,
    user_id: principal?.userId,
    lab_id: lab?.labId,
  };
}

/**
 * pino JSON lines: one line per request (request id, route template, status,
 * duration, user id, lab id), secrets and PHI redacted by path, health probes
 * at debug, pretty output only in development on a terminal.
 */
export function loggerModule() {
  return LoggerModule.forRootAsync({
    inject: [Env],
    useFactory: (env: Env) => ({
      // nestjs-pino 5 on Fastify + Nest 12 does not apply its default route (`{/*splat}`).
      forRoutes: [{ path: '*', method: RequestMethod.ALL }],
      pinoHttp: {
        level: env.LOG_LEVEL,
        redact: { paths: redactPaths(), censor: '[REDACTED]' },
        base: { service: 'lhcms' },
        messageKey: 'msg',
        timestamp: () => `,"time":"${new Date().toISOString()}"`,
        formatters: { level: (label: string) => ({ level: label }) },
        genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? '',
        customProps: (req: IncomingMessage) => contextFields(req),
        customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) => {
          if (PROBES.test(req.url ?? '')) return 'debug';
          if (err || res.statusCode >= 500) return 'error';
          if (res.statusCode >= 400) return 'warn';
          return 'info';
        },
        serializers: {
          req: (req: {
            id: string;
            method: string;
            url: string;
            headers: Record<string, unknown>;
          }) => ({
            id: req.id,
            method: req.method,
            // The path only: query strings are not logged.
            path: req.url?.split('?')[0],
            user_agent: req.headers?.['user-agent'],
          }),
          res: (res: { statusCode: number }) => ({ status: res.statusCode }),
        },
        transport:
          env.NODE_ENV === 'development' && process.stdout.isTTY
            ? { target: 'pino-pretty', options: { singleLine: true } }
            : undefined,
      },
    }),
  });
}
