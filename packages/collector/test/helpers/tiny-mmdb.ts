/**
 * Writes a minimal MaxMind DB (format 2.0, IPv4 tree, 24-bit records) mapping IPv4 prefixes to records,
 * following the published MaxMind DB spec. No writer library is published on npm that fits, and the
 * maxmind package ships no fixture, so tests build their own tiny database.
 */
export function tinyMmdb(
  networks: { prefix: string; bits: number; record: Record<string, unknown> }[],
): Buffer {
  type Slot = { node: number } | { data: number } | undefined;
  const nodes: [Slot, Slot][] = [[undefined, undefined]];
  const data: Buffer[] = [];
  let dataLength = 0;
  for (const { prefix, bits, record } of networks) {
    const encoded = encode(record);
    const offset = dataLength;
    data.push(encoded);
    dataLength += encoded.length;
    const ip = prefix.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
    let node = 0;
    for (let depth = 0; depth < bits; depth++) {
      const bit = (ip >>> (31 - depth)) & 1;
      if (depth === bits - 1) {
        nodes[node]![bit] = { data: offset };
        break;
      }
      const next = nodes[node]![bit];
      if (next !== undefined && 'node' in next) node = next.node;
      else {
        nodes.push([undefined, undefined]);
        nodes[node]![bit] = { node: nodes.length - 1 };
        node = nodes.length - 1;
      }
    }
  }
  const count = nodes.length;
  const tree = Buffer.alloc(count * 6);
  const value = (slot: Slot) =>
    slot === undefined ? count : 'node' in slot ? slot.node : count + 16 + slot.data;
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(value(left), i * 6, 3);
    tree.writeUIntBE(value(right), i * 6 + 3, 3);
  });
  const metadata = encode({
    node_count: count,
    record_size: 24,
    ip_version: 4,
    database_type: 'Tiny-City',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_700_000_000,
    description: { en: 'test' },
  });
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...data,
    Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'),
    metadata,
  ]);
}

function encode(value: unknown): Buffer {
  if (typeof value === 'string') return withControl(2, Buffer.from(value));
  if (typeof value === 'number') {
    const bytes: number[] = [];
    for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    // uint32 (type 6) covers every number the tests and the metadata need.
    return withControl(6, Buffer.from(bytes));
  }
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encode)]);
  const entries = Object.entries(value as Record<string, unknown>);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

function withControl(type: number, payload: Buffer): Buffer {
  return Buffer.concat([control(type, payload.length), payload]);
}

function control(type: number, size: number): Buffer {
  if (size >= 29) throw new Error('tiny-mmdb supports sizes < 29 only');
  return type <= 7 ? Buffer.from([(type << 5) | size]) : Buffer.from([size, type - 7]);
}
