import { TracklaneError } from '@tracklane/core';

/** Event columns a filter or breakdown may name directly. The SQL text comes from this table, never from
 * the request. */
const COLUMNS = {
  event: 'e.event',
  type: 'e.type',
  name: 'e.name',
  user_id: 'e.user_id',
  anonymous_id: 'e.anonymous_id',
  group_id: 'e.group_id',
  source_id: 'e.source_id',
} as const;

const JSON_ROOTS = ['properties', 'context', 'traits'] as const;

/** A key inside a JSON bag: letters, digits, `_`, `$`, `-`. No quotes, dots, brackets or spaces, so a
 * segment can never escape the JSON path it is placed in. */
const SEGMENT = /^[A-Za-z0-9_$-]{1,100}$/;
const MAX_DEPTH = 8;

type JsonRoot = (typeof JSON_ROOTS)[number];

/** A JSON property: its bag, and the keys from the bag's top down (each checked by SEGMENT). */
export type PropertyRef = { kind: 'column'; sql: string } | { kind: 'json'; root: JsonRoot; keys: string[] };

function isJsonRoot(name: string): name is JsonRoot {
  return (JSON_ROOTS as readonly string[]).includes(name);
}

/**
 * Parses `plan` (= `properties.plan`), `properties.plan`, `context.page.path`, `traits.email` or a column
 * name (`user_id`, `event`, ...). Anything else is rejected with a message naming the request field.
 */
export function parsePropertyRef(ref: string, field: string): PropertyRef {
  if (ref in COLUMNS) return { kind: 'column', sql: COLUMNS[ref as keyof typeof COLUMNS] };
  const parts = ref.split('.');
  let root: JsonRoot = 'properties';
  if (isJsonRoot(parts[0]!)) {
    root = parts[0];
    parts.shift();
  }
  if (parts.length === 0 || parts.length > MAX_DEPTH || !parts.every((p) => SEGMENT.test(p))) {
    throw new TracklaneError('E_VALIDATION', `invalid property '${truncate(ref)}' at ${field}`, {
      fields: [
        {
          path: field,
          message: `use a column (${Object.keys(COLUMNS).join(', ')}) or [properties.|context.|traits.]key[.key...] with keys of letters, digits, _, $, -`,
        },
      ],
    });
  }
  return { kind: 'json', root, keys: parts };
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
