import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import type { FieldError } from './errors.ts';
import { EVENT_TYPES, EventSchemas, type EventType, type IncomingEvent } from './event-schema.ts';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}

// Compiled once at load: validation is on the collector's hot path.
const checkers = Object.fromEntries(
  EVENT_TYPES.map((type) => [type, TypeCompiler.Compile(EventSchemas[type] as TSchema)]),
) as Record<EventType, TypeCheck<TSchema>>;

export type EventValidation = { ok: true; event: IncomingEvent } | { ok: false; errors: FieldError[] };

const MAX_ERRORS_PER_EVENT = 10;

/**
 * Validates one event. The union is resolved by `type` first so that errors name the real field
 * (`/event: Expected string`) instead of a vague "no union member matched".
 * `basePath` prefixes error paths so batch errors point into the request body.
 */
export function validateEvent(input: unknown, basePath = ''): EventValidation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ path: basePath || '/', message: 'event must be a JSON object' }] };
  }
  const record = input as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string' || !(type in checkers)) {
    return {
      ok: false,
      errors: [{ path: `${basePath}/type`, message: `type must be one of ${EVENT_TYPES.join(', ')}` }],
    };
  }
  const checker = checkers[type as EventType];
  if (!checker.Check(input)) {
    const errors: FieldError[] = [];
    for (const error of checker.Errors(input)) {
      errors.push({ path: `${basePath}${error.path}`, message: describe(error.path, error.message, record) });
      if (errors.length >= MAX_ERRORS_PER_EVENT) break;
    }
    return { ok: false, errors: dedupe(errors) };
  }
  if (record.userId === undefined && record.anonymousId === undefined) {
    return {
      ok: false,
      errors: [{ path: `${basePath}/userId`, message: 'either userId or anonymousId is required' }],
    };
  }
  return { ok: true, event: input as IncomingEvent };
}

function describe(path: string, message: string, record: Record<string, unknown>): string {
  const field = path.split('/')[1];
  if (
    field !== undefined &&
    path.split('/').length === 2 &&
    !(field in EventSchemas[record.type as EventType].properties)
  ) {
    return `unknown field '${field}': put custom data in properties, traits or context`;
  }
  if (message === 'Expected required property') return `${field ?? 'field'} is required`;
  return message;
}

/** TypeBox reports several errors for one bad field ("required", then "Expected string"); the first is the
 * most telling, so keep one per path. */
function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    if (seen.has(e.path)) return false;
    seen.add(e.path);
    return true;
  });
}
