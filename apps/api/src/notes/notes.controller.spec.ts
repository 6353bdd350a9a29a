import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { METRICS } from '../metrics/metric-catalogue';
import { REQUIRED_PERMISSION } from '../ums-gateway/permissions';
import { NotesController } from './notes.controller';

/** `METHOD path` → [operation label, permission] of every route of NotesController. */
function declared(): Record<string, [string | undefined, string | undefined]> {
  const reflector = new Reflector();
  const proto = NotesController.prototype as unknown as Record<string, () => unknown>;
  const out: Record<string, [string | undefined, string | undefined]> = {};
  for (const name of Object.getOwnPropertyNames(proto)) {
    const handler = proto[name];
    const path = reflector.get<string | undefined>(PATH_METADATA, handler);
    if (name === 'constructor' || path === undefined) continue;
    const method = RequestMethod[reflector.get<RequestMethod>(METHOD_METADATA, handler)];
    out[`${method} ${path}`] = [
      reflector.get<string | undefined>('lhcms:case-operation', handler),
      reflector.get<string | undefined>(REQUIRED_PERMISSION, handler),
    ];
  }
  return out;
}

describe('note routes', () => {
  it('each declares its operation label and permission', () => {
    expect(declared()).toEqual({
      'GET /': ['note_list', 'note:read'],
      'POST /': ['note_create', 'note:write'],
      'GET :note_id': ['note_read', 'note:read'],
      'GET :note_id/revisions': ['note_revisions', 'note:moderate'],
      'PUT :note_id': ['note_update', 'note:write'],
      'DELETE :note_id': ['note_delete', 'note:write'],
    });
  });

  it('their labels are exactly the note_* values of lhcms_case_operations_total', () => {
    const spec = METRICS.find((m) => m.name === 'lhcms_case_operations_total');
    const notes = (spec?.values?.operation ?? []).filter((v) => v.startsWith('note_'));
    const used = Object.values(declared()).map(([op]) => op);
    expect([...used].sort()).toEqual([...notes].sort());
  });
});
