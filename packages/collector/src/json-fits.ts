/**
 * Whether `JSON.stringify(value)`, as UTF-8, is certainly at most `maxBytes` long, decided without
 * serialising: an upper bound of the size is summed while walking the value, and the walk stops as soon
 * as the bound passes `maxBytes`. Each UTF-16 unit of a string counts 6 bytes (the longest it can become:
 * `\u001f`; UTF-8 needs at most 3), a number 24 (`-1.2345678901234567e-308`), structure exactly.
 *
 * `false` means "maybe larger", never "larger": the caller then measures exactly. The per-event size
 * check of a large request used to serialise every event only to measure it, and then again for its log
 * record; with this bound only events within a factor ~6 of the limit are serialised twice.
 *
 * Values with a `toJSON` method, bigints and anything else JSON.parse does not produce answer `false`.
 */
export function jsonFits(value: unknown, maxBytes: number): boolean {
  return boundedSize(value, maxBytes) <= maxBytes;
}

/** An upper bound of the serialised size, or any number > budget once it is known to exceed it. */
function boundedSize(value: unknown, budget: number): number {
  switch (typeof value) {
    case 'string':
      return 2 + 6 * value.length;
    case 'number':
      return 24;
    case 'boolean':
      return 5;
    case 'undefined':
      // Omitted in objects, `null` in arrays.
      return 4;
    case 'object': {
      if (value === null) return 4;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return budget + 1;
      let size = 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          size += 1 + boundedSize(value[i], budget - size);
          if (size > budget) return size;
        }
        return size;
      }
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        size += 4 + 6 * key.length + boundedSize((value as Record<string, unknown>)[key], budget - size);
        if (size > budget) return size;
      }
      return size;
    }
    default:
      return budget + 1;
  }
}
