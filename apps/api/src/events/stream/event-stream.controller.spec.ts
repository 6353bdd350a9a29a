import { ValidationFailedError } from '../../common/errors/domain-error';
import { parseStreamQuery } from './event-stream.controller';

const ID = '0193a5c2-8f1e-7d3a-9b6e-5f0c1d2e3a4b';

describe('parseStreamQuery (the live feed: ?types=, Last-Event-ID, ?last_event_id=)', () => {
  const errorsOf = (q: Record<string, unknown>, h?: string | string[]) => {
    try {
      parseStreamQuery(q, h);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationFailedError);
      return (err as ValidationFailedError).errors;
    }
    throw new Error('no error');
  };

  it('takes the resume point from the header or the query (lower-cased), and types from the catalogue', () => {
    expect(parseStreamQuery({}, undefined)).toEqual({});
    expect(parseStreamQuery({}, ID.toUpperCase()).lastEventId).toBe(ID);
    expect(parseStreamQuery({ last_event_id: ID }, undefined).lastEventId).toBe(ID);
    expect(parseStreamQuery({ last_event_id: ID }, ID).lastEventId).toBe(ID);
    expect(parseStreamQuery({}, '').lastEventId).toBeUndefined();
    expect([
      ...parseStreamQuery({ types: 'case.created, case.status_changed' }, undefined).types!,
    ]).toEqual(['case.created', 'case.status_changed']);
  });

  it('400 for a malformed id, two different ids, a repeated parameter or an unknown type', () => {
    expect(errorsOf({}, 'garbage')).toHaveProperty('last_event_id');
    expect(errorsOf({}, `${ID}x`)).toHaveProperty('last_event_id');
    expect(errorsOf({}, [ID, ID])).toHaveProperty('last_event_id');
    expect(errorsOf({ last_event_id: [ID, ID] })).toHaveProperty('last_event_id');
    expect(errorsOf({ last_event_id: ID.replace('0193', '0194') }, ID)).toHaveProperty(
      'last_event_id',
    );
    expect(errorsOf({ types: 'case.created,case.nope' })).toHaveProperty('types');
    expect(errorsOf({ types: '' })).toHaveProperty('types');
    expect(errorsOf({ types: ['case.created', 'case.updated'] })).toHaveProperty('types');
  });
});
