import { FormatRegistry, type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type FieldError, TracklaneError } from '@tracklane/core';
import { parsePropertyRef } from './property-ref.ts';

// The same rule as @tracklane/core's (whichever module loads first registers it): a date and a time.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}

/** Pieces shared by every analytics request schema. */
export const Instant = Type.String({
  format: 'date-time',
  maxLength: 40,
  description: 'ISO 8601 instant, e.g. 2026-01-01T00:00:00Z (inclusive for from, exclusive for to)',
});
export const EventName = Type.String({ minLength: 1, maxLength: 512 });
export const PropertyName = Type.String({ minLength: 1, maxLength: 300 });
const Scalar = Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()]);

export const FilterSchema = Type.Object(
  {
    property: PropertyName,
    operator: Type.Union(
      [
        'eq',
        'neq',
        'in',
        'not_in',
        'contains',
        'not_contains',
        'gt',
        'gte',
        'lt',
        'lte',
        'is_set',
        'is_not_set',
      ].map((op) => Type.Literal(op)),
    ),
    value: Type.Optional(Type.Union([Scalar, Type.Array(Scalar, { maxItems: 100 })])),
  },
  { additionalProperties: false },
);
export type Filter = Static<typeof FilterSchema>;
export const Filters = Type.Array(FilterSchema, { maxItems: 20 });

export const TimeRange = {
  from: Instant,
  to: Instant,
  /** IANA zone for bucketing (DuckDB ICU); UTC when absent. */
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  filters: Type.Optional(Filters),
};

const compiled = new WeakMap<TSchema, ReturnType<typeof TypeCompiler.Compile>>();

/**
 * Validates a request body against its schema, then the checks a schema cannot express (a valid time
 * zone, `from` before `to`, property names that are safe to place in a JSON path). Throws E_VALIDATION
 * naming every bad field.
 */
export function validateRequest<S extends TSchema>(schema: S, body: unknown): Static<S> {
  let checker = compiled.get(schema);
  if (checker === undefined) {
    checker = TypeCompiler.Compile(schema);
    compiled.set(schema, checker);
  }
  const fields: FieldError[] = [];
  if (!checker.Check(body)) {
    const seen = new Set<string>();
    for (const error of checker.Errors(body)) {
      const path = error.path || '/';
      if (seen.has(path)) continue;
      seen.add(path);
      fields.push({ path, message: describe(error.message, error.path) });
      if (fields.length >= 10) break;
    }
  } else {
    fields.push(...semanticErrors(body as Record<string, unknown>));
  }
  if (fields.length > 0) {
    throw new TracklaneError(
      'E_VALIDATION',
      `invalid request: ${fields.map((f) => `${f.path} ${f.message}`).join('; ')}`,
      {
        fields,
      },
    );
  }
  return body as Static<S>;
}

function describe(message: string, path: string): string {
  if (message === 'Expected required property') return 'is required';
  if (message.startsWith('Unexpected property')) return 'is not a known field';
  if (path.endsWith('/operator'))
    return 'must be one of eq, neq, in, not_in, contains, not_contains, gt, gte, lt, lte, is_set, is_not_set';
  return message;
}

function semanticErrors(body: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  if (
    typeof body.from === 'string' &&
    typeof body.to === 'string' &&
    Date.parse(body.from) >= Date.parse(body.to)
  ) {
    errors.push({ path: '/to', message: 'must be after from' });
  }
  if (typeof body.timezone === 'string' && !isTimeZone(body.timezone)) {
    errors.push({
      path: '/timezone',
      message: `unknown time zone '${body.timezone}': use an IANA name like Europe/Paris`,
    });
  }
  // Property names anywhere in the request (filters, breakdown, numeric property) must parse as refs.
  walk(body, '', (value, path) => {
    if (/\/(property|breakdown)$/.test(path) && typeof value === 'string') {
      try {
        parsePropertyRef(value, path);
      } catch (err) {
        errors.push(...((err as TracklaneError).fields ?? []));
      }
    }
  });
  return errors;
}

function walk(value: unknown, path: string, visit: (value: unknown, path: string) => void): void {
  visit(value, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}/${i}`, visit);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) walk(v, `${path}/${k}`, visit);
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
