/**
 * Field names that can carry PHI (or secrets) wherever they appear in a log
 * object. The logger redacts them by path at every depth up to 4; the tests
 * seed PHI markers in these fields and assert they never reach a log line.
 */
export const PHI_FIELDS = [
  'patient_info',
  'patient_id',
  'patient_name',
  'medical_history',
  'special_instructions',
  'description',
  'case_name',
  'notes',
  'first_name',
  'last_name',
  'date_of_birth',
  // Case notes: the text and a deletion's reason.
  'text',
  'delete_reason',
  // The prescriptions (clinical detail with free-text notes), under their wire
  // names, their column names and the response's `dental_details`; the
  // shade's free text. apps/api/src/case-model/case.columns.spec.ts checks that
  // every encrypted column of the case catalogue is listed here.
  'fixed_prosthetic',
  'denture',
  'night_guard',
  'implant',
  'fixed_prosthetic_details',
  'denture_details',
  'night_guard_details',
  'implant_details',
  'dental_details',
  'shade_description',
  // SQL parameters of a failed query (TypeORM QueryFailedError) are row values.
  'parameters',
] as const;

/** Credentials and session material, redacted wherever a request or header object is logged. */
export const SECRET_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
  'authorization',
  'cookie',
  'token',
  'access_token',
  'refresh_token',
  'password',
  '*.authorization',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.password',
  // Webhook signing secrets (whsec_…), as a body field or a row's columns.
  'secret',
  'previous_secret',
  '*.secret',
  '*.previous_secret',
];

export function redactPaths(): string[] {
  const paths = [...SECRET_PATHS];
  for (const f of PHI_FIELDS) {
    paths.push(f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`);
  }
  return paths;
}
