import { type PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '../errors/domain-error';
import { JsonSchemaValidator } from './json-schema.validator';

type Schema = Record<string, unknown>;

/** Every named wire schema, as each module registered its own (the OpenAPI components too). */
const registered: Record<string, Schema> = {};
let compiled: JsonSchemaValidator | undefined;

/**
 * The named schemas (request bodies, responses) of a module: registered by
 * its SchemaPipes (`new SchemaPipe(SCHEMAS, 'CaseInput')`), so a module with a
 * body route brings its schemas; the validator and the OpenAPI document use
 * all of them. `common/` knows no feature module. Names are global: one name,
 * one schema.
 */
export function registerSchemas(schemas: Readonly<Record<string, object>>): void {
  for (const [name, schema] of Object.entries(schemas)) {
    if (registered[name] !== undefined && registered[name] !== schema) {
      throw new Error(`schema ${name} is registered twice`);
    }
    registered[name] = schema as Schema;
  }
  compiled = undefined;
}

export function registeredSchemas(): Readonly<Record<string, object>> {
  return registered;
}

/** The validator of every registered schema, compiled once on first use (every module's schemas are registered by then). */
export function validator(): JsonSchemaValidator {
  return (compiled ??= new JsonSchemaValidator(registered));
}

/**
 * Validates a JSON body against a named schema; all errors at once, 400 in
 * the one error shape. Returns the body unchanged (unknown keys are kept for
 * the service to ignore or store, as the original did).
 */
export class SchemaPipe<S extends Readonly<Record<string, object>>> implements PipeTransform<
  unknown,
  unknown
> {
  private readonly schema: string;

  /**
   * `schemas`: the module's named schemas (registered here, so that the
   * validator and the OpenAPI document know them); `name`: this body's.
   */
  constructor(schemas: S, name: keyof S & string) {
    registerSchemas(schemas);
    this.schema = name;
  }

  transform(value: unknown): unknown {
    const nullable = validator().nullableKeys(this.schema);
    let subject = value;
    if (nullable.size > 0 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      // null on a nullable field means "clear it"; it is checked by omission.
      subject = Object.fromEntries(
        Object.entries(value).filter(([k, v]) => !(v === null && nullable.has(k))),
      );
    }
    const errors = validator().validate(this.schema, subject);
    if (errors) throw new ValidationFailedError(errors);
    return value;
  }
}
