import { Global, Module } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
import { RequestContext } from './request-context';

/**
 * nestjs-cls, mounted as middleware for every route. The id is Fastify's
 * request id (genReqId = requestIdFrom), so logs, error bodies, audit rows and
 * the `X-Request-Id` response header all carry the same value. The app
 * factory completes the context (route template, IP) with
 * `installRequestContext`.
 */
@Global()
@Module({
  imports: [
    ClsModule.forRoot({
      global: true,
      middleware: {
        mount: true,
        generateId: true,
        idGenerator: (req: { id?: string }) => req.id ?? 'unknown',
      },
    }),
  ],
  providers: [RequestContext],
  exports: [RequestContext],
})
export class RequestContextModule {}
