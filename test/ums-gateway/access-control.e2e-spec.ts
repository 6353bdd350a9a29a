import { Controller, Get, Module } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { startStack, testEnv, type Stack } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';
import { routeAccess } from '../../apps/api/src/ums-gateway/access-policy.check';

describe('default deny: roles and permissions', () => {
  let s: Stack;
  let caseId: number;
  beforeAll(async () => {
    s = await startStack();
    caseId = (
      await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: { doctor_id: 'acl', product_id: 'p', case_type: 'other' },
      })
    ).body.id;
  });
  afterAll(() => s.close());

  it('every route declares @Public() or a permission', () => {
    const routes = routeAccess(
      s.api.app.get(DiscoveryService),
      s.api.app.get(MetadataScanner),
      s.api.app.get(Reflector),
    );
    expect(routes.length).toBeGreaterThan(10);
    const undeclared = routes.filter((r) => !r.public && !r.permission);
    expect(undeclared).toEqual([]);
    expect(routes.find((r) => r.handler === 'remove')?.permission).toBe('case:delete');
  });

  const ops = () => ({
    list: ['GET', '/api/v1/cases/', undefined],
    get: ['GET', `/api/v1/cases/${caseId}`, undefined],
    create: ['POST', '/api/v1/cases/', { doctor_id: 'acl', product_id: 'p', case_type: 'other' }],
    update: ['PUT', `/api/v1/cases/${caseId}`, { description: 'edited' }],
    status: ['PATCH', `/api/v1/cases/${caseId}/status`, { status: 'pending' }],
    delete: ['DELETE', '/api/v1/cases/2147483000', undefined],
  });

  // [user, op, expected status, missing permission]
  const matrix: Array<[string, keyof ReturnType<typeof ops>, number, string | null]> = [
    ['viewer', 'list', 200, null],
    ['viewer', 'get', 200, null],
    ['viewer', 'create', 403, 'case:create'],
    ['viewer', 'update', 403, 'case:update'],
    ['viewer', 'status', 403, 'case:status'],
    ['viewer', 'delete', 403, 'case:delete'],
    ['tech', 'list', 200, null],
    ['tech', 'create', 201, null],
    ['tech', 'update', 200, null],
    ['tech', 'status', 200, null],
    ['tech', 'delete', 403, 'case:delete'],
    ['admin', 'create', 201, null],
    ['admin', 'delete', 404, null],
  ];

  it.each(matrix)('%s %s → %i', async (user, op, status, missing) => {
    const [method, path, body] = ops()[op];
    const res = await s.as(user, path as string, { method: method as string, body });
    expect(res.status).toBe(status);
    if (missing) {
      expect(res.body.message).toBe(`Missing permission ${missing}`);
      expect(res.body.missing_permission).toBe(missing);
    }
  });

  it('a user without a lab may still use doctor-info (authenticated users only)', async () => {
    expect((await s.as('nolab', '/api/v1/cases/doctor-info/d1')).status).toBe(501); // passes the guard; no directory configured
    expect((await s.as('nolab', '/api/v1/cases/')).status).toBe(403);
  });
});

describe('a route without an access decision', () => {
  @Controller('rogue')
  class RogueController {
    @Get()
    open() {
      return 'should never be served';
    }
  }
  @Module({ controllers: [RogueController] })
  class RogueModule {}

  it('stops the application from starting', async () => {
    const mod = await Test.createTestingModule({
      imports: [AppModule.forRoot(testEnv()), RogueModule],
    }).compile();
    const app = mod.createNestApplication(new FastifyAdapter(), { logger: false });
    await expect(app.init()).rejects.toThrow(/RogueController\.open/);
    await app.close().catch(() => undefined);
  });
});
