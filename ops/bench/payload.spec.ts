import { randomBytes } from 'node:crypto';
import { encryptField } from '@lhcms/crypto';
import {
  bodyPhi,
  checkCasePhi,
  checkResponse,
  Expectations,
  isCiphertext,
  PayloadSampler,
  PHI_WIRE_FIELDS,
  seedPhi,
} from './payload';
import type { RequestSpec } from './scenarios';
import { caseInput, rng, seedRow } from './seed-data';

const LAB = '9001';
const N = 30;
/** Seeded ids 101..130 (row i = id 101 + i), as the fixtures read them oldest first. */
const IDS = Array.from({ length: N }, (_, i) => 101 + i);
const ex = () =>
  new Expectations(LAB, IDS, N, { list_page1: [130, 129, 128], queue_due: [101, 102] });

/** A case as LHCMS answers it: the seed row's PHI in plaintext under the wire names. */
function answer(id: number): Record<string, unknown> {
  return { id, status: 'pending', ...seedPhi(LAB, id - 101, N) };
}

const get = (id: number): RequestSpec => ({ method: 'GET', path: `/x/${id}`, id, kind: 'get' });
const list: RequestSpec = { method: 'GET', path: '/x', kind: 'list_page1' };

describe('bench payload checks', () => {
  it('recomputes the seed plaintext of a case: every PHI field under its wire name', () => {
    const row = seedRow(LAB, 7, N, new Date('2026-01-01T00:00:00Z'));
    const phi = seedPhi(LAB, 7, N);
    expect(Object.keys(phi).sort()).toEqual([...PHI_WIRE_FIELDS].sort());
    expect(phi.patient_info).toEqual(row.patient_info);
    expect(phi.case_name).toEqual(row.case_name);
    expect(phi.fixed_prosthetic).toEqual(row.fixed_prosthetic_details ?? null);
    // The PHI does not depend on the seed's clock (only dates do).
    expect(seedPhi(LAB, 7, N)).toEqual(phi);
  });

  it('passes a get whose PHI is the seed plaintext', () => {
    expect(checkResponse('lhcms', 'get', get(105), JSON.stringify(answer(105)), ex())).toEqual([]);
  });

  it('fails a get that carries ciphertext instead of the plaintext', () => {
    const dk = { version: 1, key: randomBytes(32) };
    const a = answer(105);
    a.patient_info = encryptField(dk, `${LAB}|patient_info`, JSON.stringify(a.patient_info));
    expect(isCiphertext(a.patient_info)).toBe(true);
    expect(checkResponse('lhcms', 'get', get(105), JSON.stringify(a), ex())).toEqual([
      'lhcms get case 105: patient_info is ciphertext',
    ]);
  });

  it('fails a wrong value, a missing field and the wrong case', () => {
    const a = answer(106);
    (a.patient_info as Record<string, unknown>).age = 1;
    delete a.case_name;
    expect(checkResponse('lhcms', 'get', get(106), JSON.stringify(a), ex())).toEqual([
      'lhcms get case 106: case_name missing',
      'lhcms get case 106: patient_info differs from the seed',
    ]);
    expect(checkResponse('lhcms', 'get', get(107), JSON.stringify(answer(106)), ex())).toEqual([
      'lhcms get: answered case 106 for 107',
    ]);
    expect(checkResponse('lhcms', 'get', get(107), 'not json', ex())).toEqual([
      'lhcms get: the answer is not a JSON object',
    ]);
  });

  it('a quoted-JSON string is not the object the seed wrote', () => {
    const a = answer(108);
    a.patient_info = JSON.stringify(a.patient_info);
    expect(checkCasePhi(a, seedPhi(LAB, 7, N))).toContain('patient_info differs from the seed');
  });

  it('checks a list page: the expected ids in order, and every case its PHI', () => {
    const page = (ids: number[]) => JSON.stringify({ cases: ids.map(answer) });
    expect(checkResponse('lhcms', 'list_page1', list, page([130, 129, 128]), ex())).toEqual([]);
    expect(checkResponse('lhcms', 'list_page1', list, page([130, 129]), ex())).toEqual([
      'lhcms list_page1: 2 cases, not the expected page of 3 (first 130, expected 130)',
    ]);
    const bad = [130, 129, 128].map(answer);
    bad[2].implant = 'enc:v1:1:AAAA';
    expect(
      checkResponse('lhcms', 'list_page1', list, JSON.stringify({ cases: bad }), ex()),
    ).toEqual(['lhcms list_page1 case 128: implant is ciphertext']);
    // In the mixed scenario, a page may start with cases created meanwhile: ids are not compared.
    expect(checkResponse('lhcms', 'mixed', list, page([129, 128]), ex())).toEqual([]);
  });

  it('the baseline (ciphertext by design) is checked for the right rows only', () => {
    const cipher = (id: number) => ({ id, patient_info: 'enc:v1:1:AAAA' });
    expect(checkResponse('baseline', 'get', get(110), JSON.stringify(cipher(110)), ex())).toEqual(
      [],
    );
    expect(checkResponse('baseline', 'get', get(110), JSON.stringify(cipher(111)), ex())).toEqual([
      'baseline get: answered case 111 for 110',
    ]);
    const q: RequestSpec = { method: 'GET', path: '/q', kind: 'queue_due' };
    expect(
      checkResponse('baseline', 'queue_due', q, JSON.stringify({ cases: [cipher(101)] }), ex()),
    ).toEqual([
      'baseline queue_due: 1 cases, not the expected page of 2 (first 101, expected 101)',
    ]);
  });

  it('a create is checked against its own body, and its case is known afterwards', () => {
    const body = caseInput(rng(3));
    const spec: RequestSpec = {
      method: 'POST',
      path: '/x',
      body: JSON.stringify(body),
      kind: 'create',
    };
    const e = ex();
    const created = { id: 900, ...bodyPhi(body) };
    expect(checkResponse('lhcms', 'create', spec, JSON.stringify(created), e)).toEqual([]);
    expect(e.phiOf(900)).toEqual(bodyPhi(body));
    const lost = { ...created, id: 901, patient_info: null };
    expect(checkResponse('lhcms', 'create', spec, JSON.stringify(lost), e)).toEqual([
      'lhcms create case 901: patient_info differs from the seed',
    ]);
  });

  it('with an unknown seed (API seed) only plaintext and presence are checked', () => {
    const e = new Expectations(LAB, IDS, N, {}, false);
    const a = { ...answer(105), patient_info: { other: 'x' } };
    expect(checkResponse('lhcms', 'get', get(105), JSON.stringify(a), e)).toEqual([]);
    a.patient_info = { other: 'enc:v1:1:AAAA' };
    expect(checkResponse('lhcms', 'get', get(105), JSON.stringify(a), e)).toEqual([
      'lhcms get case 105: patient_info is ciphertext',
    ]);
  });

  it('samples the first 2xx answer and every Nth after it; counts failures without values', () => {
    const s = new PayloadSampler('lhcms', 'get', ex(), 3);
    const good = JSON.stringify(answer(105));
    const wrong = JSON.stringify({ ...answer(105), case_name: 'enc:v1:1:AAAA' });
    s.observe(500, get(105), wrong); // not 2xx: counted as an error elsewhere, not sampled
    s.observe(200, get(105), good); // 1st 2xx: checked
    s.observe(200, get(105), wrong); // 2nd: skipped
    s.observe(200, get(105), wrong); // 3rd: skipped
    s.observe(200, get(105), wrong); // 4th: checked
    expect(s.stats).toEqual({
      checked: 2,
      failed: 1,
      problems: ['lhcms get case 105: case_name is ciphertext'],
    });
    expect(s.stats.problems.join()).not.toContain('AAAA');
  });
});
