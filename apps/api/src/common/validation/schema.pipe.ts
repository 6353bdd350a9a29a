import { type PipeTransform } from '@nestjs/common';
import { AUDIT_SCHEMAS } from '../../audit/audit.schemas';
import { SCHEMAS, type SchemaName } from '../../cases/dto/case.schemas';
import { ValidationFailedError } from '../errors/domain-error';
import { JsonSchemaValidator } from './json-schema.validator';

/** Every request body schema: the cases' and the audit review's (the OpenAPI components). */
export const validator = new JsonSchemaValidator({
  ...SCHEMAS,
  ...(AUDIT_SCHEMAS as Record<string, Record<string, unknown>>),
});

/**
 * Validates a JSON body against a named schema; all errors at once, 400 in
 * the one error shape. Returns the body unchanged (unknown keys are kept for
 * the service to ignore or store, as the original did).
 */
export class SchemaPipe implements PipeTransform<unknown, unknown> {
  constructor(private readonly schema: SchemaName) {}

  transform(value: unknown): unknown {
    const nullable = validator.nullableKeys(this.schema);
    let subject = value;
    if (nullable.size > 0 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      // null on a nullable field means "clear it"; it is checked by omission.
      subject = Object.fromEntries(
        Object.entries(value).filter(([k, v]) => !(v === null && nullable.has(k))),
      );
    }
    const errors = validator.validate(this.schema, subject);
    if (errors) throw new ValidationFailedError(errors);
    return value;
  }
}
