import { ACTION_OF } from './audit-event';
import { parseAuditQuery } from './audit-query';
import { AUDIT_SCHEMAS } from './audit.schemas';

describe('parseAuditQuery', () => {
  it('accepts every interaction the trail records, and nothing else', () => {
    for (const interaction of Object.keys(ACTION_OF)) {
      expect(parseAuditQuery({ interaction }, 500)).toEqual({
        ok: { filters: { interaction }, cursor: undefined, limit: 100 },
      });
    }
    expect(parseAuditQuery({ interaction: 'key_rotation' }, 500)).toHaveProperty('ok');
    expect(parseAuditQuery({ interaction: 'rotate' }, 500)).toEqual({
      errors: { interaction: expect.stringMatching(/^must be one of read, .*key_rotation$/) },
    });
  });

  it('names each bad parameter', () => {
    const r = parseAuditQuery({ action: 'X', outcome: 'maybe', limit: '0', case_id: 'abc' }, 500);
    expect(r).toEqual({
      errors: {
        action: expect.stringMatching(/^must be one of/),
        outcome: expect.stringMatching(/^must be one of/),
        limit: 'must be a positive integer',
        case_id: 'must be a case id',
      },
    });
  });
});

describe('AuditEvent schema', () => {
  it('lists every interaction the trail records', () => {
    const props = (AUDIT_SCHEMAS.AuditEvent as { properties: Record<string, { enum?: string[] }> })
      .properties;
    expect(props.interaction.enum).toEqual(Object.keys(ACTION_OF));
  });
});
