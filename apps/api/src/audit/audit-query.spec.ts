import { ACTION_OF } from './audit-event';
import { parseAuditQuery } from './audit-query';
import { AUDIT_SCHEMAS } from './audit.schemas';

const none = () => undefined;

describe('parseAuditQuery', () => {
  it('accepts every interaction the trail records, and nothing else', () => {
    for (const interaction of Object.keys(ACTION_OF)) {
      expect(parseAuditQuery({ interaction }, 500, none)).toEqual({
        ok: { filters: { interaction }, cursor: undefined, limit: 100 },
      });
    }
    expect(parseAuditQuery({ interaction: 'key_rotation' }, 500, none)).toHaveProperty('ok');
    expect(parseAuditQuery({ interaction: 'rotate' }, 500, none)).toEqual({
      errors: {
        interaction: expect.stringMatching(/^must be one of read, .*key_rotation, aggregate$/),
      },
    });
  });

  it('names each bad parameter', () => {
    const r = parseAuditQuery(
      { action: 'X', outcome: 'maybe', limit: '0', case_id: 'abc' },
      500,
      none,
    );
    expect(r).toEqual({
      errors: {
        action: expect.stringMatching(/^must be one of/),
        outcome: expect.stringMatching(/^must be one of/),
        limit: 'must be a positive integer',
        case_id: 'must be a case id',
      },
    });
  });

  it('reads a cursor only through the decoder it is given', () => {
    const boundary = { occurredAt: '2026-01-02T03:04:05.000006Z', seq: '42' };
    expect(parseAuditQuery({ cursor: 'abc' }, 500, () => boundary)).toEqual({
      ok: { filters: {}, cursor: boundary, limit: 100 },
    });
    expect(parseAuditQuery({ cursor: 'abc' }, 500, none)).toEqual({
      errors: { cursor: 'is not a cursor this API issued' },
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
