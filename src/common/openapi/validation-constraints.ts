import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import type { ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

type Schema = SchemaObject & { [key: string]: unknown };
/** A DTO class, as class-validator keys its metadata. */
type DtoClass = abstract new (...args: never[]) => unknown;

/** Every class that carries class-validator metadata (the request DTOs), by name. */
function validatedClasses(): Map<string, DtoClass> {
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<DtoClass, ValidationMetadata[]> };
  const byName = new Map<string, DtoClass>();
  for (const target of storage.validationMetadatas.keys()) if (typeof target === 'function' && target.name) byName.set(target.name, target);
  return byName;
}

function isRef(s: SchemaObject | ReferenceObject): s is ReferenceObject {
  return '$ref' in s;
}

/** Applies one validator's constraint to a property schema, where the document does not say already. */
function applyConstraint(schema: Schema, m: ValidationMetadata): void {
  const c = m.constraints ?? [];
  const set = (key: string, value: unknown) => {
    if (schema[key] === undefined) schema[key] = value;
  };
  switch (m.name) {
    case 'isString':
      set('type', 'string');
      break;
    case 'isBoolean':
      set('type', 'boolean');
      break;
    case 'isInt':
      schema.type = 'integer';
      break;
    case 'isNumber':
      set('type', 'number');
      break;
    case 'isObject':
      set('type', 'object');
      break;
    case 'isArray':
      set('type', 'array');
      break;
    case 'isDate':
      schema.type = 'string';
      set('format', 'date-time');
      break;
    case 'maxLength':
      set('maxLength', c[0]);
      break;
    case 'minLength':
      set('minLength', c[0]);
      break;
    case 'min':
      set('minimum', c[0]);
      break;
    case 'max':
      set('maximum', c[0]);
      break;
    case 'arrayMaxSize':
      set('maxItems', c[0]);
      break;
    case 'arrayMinSize':
      set('minItems', c[0]);
      break;
    case 'isIn':
      set('enum', c[0]);
      break;
    case 'matches': {
      const re = c[0] instanceof RegExp ? c[0] : new RegExp(String(c[0]), typeof c[1] === 'string' ? c[1] : undefined);
      // A case-insensitive expression has no JSON Schema form; leave such a pattern to the description.
      if (!re.flags.includes('i')) set('pattern', re.source);
      break;
    }
  }
}

/**
 * Makes the request schemas of the document say what the validation pipe enforces, from the
 * class-validator decorators themselves (one source of truth): types, lengths, ranges, patterns,
 * enums, required properties, that unknown properties are refused (the pipe forbids them), and
 * that an @IsOptional property may be null (the pipe lets null through as absent). Constraints a
 * schema cannot state (custom validators, cross-field rules) stay in descriptions.
 */
export function applyValidationConstraints(schemas: Record<string, SchemaObject | ReferenceObject>): void {
  const classes = validatedClasses();
  const storage = getMetadataStorage();
  for (const [name, schema] of Object.entries(schemas)) {
    const target = classes.get(name);
    if (!target || isRef(schema) || !schema.properties) continue;
    const metadata = storage.getTargetValidationMetadatas(target as unknown as new () => object, '', true, false);
    schema.additionalProperties ??= false;
    const required = new Set(schema.required ?? []);
    for (const [prop, propSchema] of Object.entries(schema.properties)) {
      const own = metadata.filter((m) => m.propertyName === prop);
      if (own.length === 0) continue;
      const optional = own.some((m) => m.name === 'isOptional');
      const conditional = own.some((m) => m.type === 'conditionalValidation');
      if (own.every((m) => m.type === 'whitelistValidation')) {
        // @Allow(): anything is taken (read-only fields sent back and ignored), unless the
        // property states its shape itself (a oneOf checked by the service).
        if (!isRef(propSchema) && propSchema.oneOf) continue;
        const description = isRef(propSchema) ? undefined : propSchema.description;
        schema.properties[prop] = description ? { description } : {};
        continue;
      }
      const checked = own.some((m) => m.type === 'customValidation' || m.type === 'isDefined');
      if (own.some((m) => m.type === 'isDefined') || (checked && !conditional)) required.add(prop);
      if (conditional && !own.some((m) => m.type === 'isDefined')) required.delete(prop);
      if (isRef(propSchema)) {
        if (optional) schema.properties[prop] = { allOf: [propSchema], nullable: true };
        continue;
      }
      const s = propSchema as Schema;
      const itemSchema = s.items && !isRef(s.items) ? (s.items as Schema) : undefined;
      for (const m of own) {
        if (m.type !== 'customValidation' && m.type !== 'isDefined') continue;
        if (m.each) {
          if (itemSchema) applyConstraint(itemSchema, m);
        } else applyConstraint(s, m);
      }
      if (optional) s.nullable = true;
    }
    if (required.size) schema.required = [...required];
    else delete schema.required;
  }
}
