import { type ExecutionContext, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { lastValueFrom, of, throwError } from 'rxjs';
import { METRICS } from '../metrics/metric-catalogue';
import type { MetricsService } from '../metrics/metrics.service';
import { Permission } from '../ums-gateway';
import { CaseOperationsInterceptor } from './case-operations.interceptor';
import { CASE_OPERATION, CaseRoute } from './case-route.decorator';
import { CasesError } from '../case-model/cases.errors';
import { CasesController } from './cases.controller';
import { CaseRemakesController } from './case-remakes.controller';

/** `METHOD path` → the operation label a route declares, for every route of the case controllers. */
function declaredOperations(): Record<string, string | undefined> {
  const reflector = new Reflector();
  const out: Record<string, string | undefined> = {};
  for (const controller of [CasesController, CaseRemakesController])
    Object.assign(out, declaredBy(reflector, controller));
  return out;
}

function declaredBy(reflector: Reflector, controller: { prototype: object }) {
  const proto = controller.prototype as unknown as Record<string, () => unknown>;
  const out: Record<string, string | undefined> = {};
  for (const name of Object.getOwnPropertyNames(proto)) {
    const handler = proto[name];
    const path = reflector.get<string | undefined>(PATH_METADATA, handler);
    if (name === 'constructor' || path === undefined) continue;
    const method = RequestMethod[reflector.get<RequestMethod>(METHOD_METADATA, handler)];
    out[`${method} ${path}`] = reflector.get<string | undefined>(CASE_OPERATION, handler);
  }
  return out;
}

describe('case operation labels (declared by each route)', () => {
  it('every case route declares its label; the doctor directory is not a case operation', () => {
    expect(declaredOperations()).toEqual({
      'GET /': 'list',
      'POST /': 'create',
      'POST bulk-status': 'bulk_status',
      'GET doctor-info/:doctor_id': undefined,
      'GET by-number/:case_number': 'read',
      'GET :id': 'read',
      'GET :id/events': 'read_events',
      'PUT :id': 'update',
      'PATCH :id/status': 'status_change',
      'PATCH :id/stage': 'stage_change',
      'DELETE :id': 'delete',
      'POST :id/remake': 'remake',
    });
  });

  it('the labels in use are exactly the metric catalogue’s values (the note_* ones are the notes routes’)', () => {
    const spec = METRICS.find((m) => m.name === 'lhcms_case_operations_total');
    const used = new Set(Object.values(declaredOperations()).filter((v) => v !== undefined));
    const ours = (spec?.values?.operation ?? []).filter((v) => !v.startsWith('note_'));
    expect([...used].sort()).toEqual([...ours].sort());
  });

  it('the interceptor counts the declared label, whatever the handler is called', async () => {
    class Renamed {
      @CaseRoute({
        permission: Permission.CaseCreate,
        operation: 'create',
        docs: { summary: 's', ok: {}, errors: [] },
      })
      somethingElseEntirely() {}

      notDeclared() {}
    }
    const counted: Array<[string, string]> = [];
    const metrics = {
      caseOperation: (op: string, status: string) => counted.push([op, status]),
    } as unknown as MetricsService;
    const interceptor = new CaseOperationsInterceptor(metrics, new Reflector());
    const ctx = (handler: () => void) =>
      ({ getHandler: () => handler }) as unknown as ExecutionContext;
    const call = (handler: () => void, result = of('ok')) =>
      lastValueFrom(interceptor.intercept(ctx(handler), { handle: () => result })).catch(
        () => undefined,
      );

    await call(Renamed.prototype.somethingElseEntirely);
    await call(
      Renamed.prototype.somethingElseEntirely,
      throwError(() => CasesError.notFound()),
    );
    await call(
      Renamed.prototype.somethingElseEntirely,
      throwError(() => new Error('boom')),
    );
    await call(Renamed.prototype.notDeclared);
    expect(counted).toEqual([
      ['create', 'success'],
      ['create', 'client_error'],
      ['create', 'error'],
    ]);
  });
});
