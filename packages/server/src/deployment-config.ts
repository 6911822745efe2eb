import { readFile } from 'node:fs/promises';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TracklaneError } from '@tracklane/core';

/*
 * The config file of the split topology (`tracklane collector | processor | api --config FILE`). JSON, not
 * YAML or TS: TypeBox validates it as parsed, errors point at the field with a JSON pointer, and it needs
 * no new dependency or loader. One schema gives both the validator and the types (STYLE.md habit 3).
 */

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });
const Millis = Type.Integer({ minimum: 1 });

export const EmbeddedLogConfig = Type.Object(
  { kind: Type.Literal('embedded'), dir: Type.Optional(Type.String({ minLength: 1 })) },
  { additionalProperties: false },
);
export const NatsLogConfig = Type.Object(
  {
    kind: Type.Literal('nats'),
    servers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    namespace: Type.Optional(Type.String({ minLength: 1 })),
    replicas: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(3), Type.Literal(5)])),
    sessionTimeoutMs: Type.Optional(Millis),
  },
  { additionalProperties: false },
);
export const KafkaLogConfig = Type.Object(
  {
    kind: Type.Literal('kafka'),
    brokers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    namespace: Type.Optional(Type.String({ minLength: 1 })),
    replicationFactor: Type.Optional(Type.Integer({ minimum: -1 })),
    sessionTimeoutMs: Type.Optional(Millis),
    /** KafkaLogOptions.groupProtocol: 'auto' (KIP-848 when the broker offers it), 'consumer' or 'classic'. */
    groupProtocol: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('consumer'), Type.Literal('classic')]),
    ),
  },
  { additionalProperties: false },
);
export const DuckDbStoreConfig = Type.Object(
  { kind: Type.Literal('duckdb'), path: Type.Optional(Type.String({ minLength: 1 })) },
  { additionalProperties: false },
);
export const PostgresStoreConfig = Type.Object(
  {
    kind: Type.Literal('postgres'),
    url: Type.String({ minLength: 1 }),
    readerUrl: Type.Optional(Type.String({ minLength: 1 })),
    poolSize: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export const ClickHouseStoreConfig = Type.Object(
  {
    kind: Type.Literal('clickhouse'),
    url: Type.String({ minLength: 1 }),
    compatFunctions: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const LOG_KINDS = { embedded: EmbeddedLogConfig, nats: NatsLogConfig, kafka: KafkaLogConfig } as const;
const STORE_KINDS = {
  duckdb: DuckDbStoreConfig,
  postgres: PostgresStoreConfig,
  clickhouse: ClickHouseStoreConfig,
} as const;

export type LogConfig = Static<typeof EmbeddedLogConfig | typeof NatsLogConfig | typeof KafkaLogConfig>;
export type StoreConfig = Static<
  typeof DuckDbStoreConfig | typeof PostgresStoreConfig | typeof ClickHouseStoreConfig
>;

/** The file minus `log` and `store`, which are checked per kind below so errors name the right fields. */
const FileShape = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: '.tracklane' }),
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    eventPartitions: Type.Integer({ minimum: 1, maximum: 1024, default: 4 }),
    keys: Type.Object(
      {
        /** Every collector must accept the same keys, so split roles never generate them. */
        writeKeys: Type.Array(Type.String({ minLength: 8 }), { minItems: 1 }),
        apiKey: Type.String({ minLength: 8 }),
      },
      { additionalProperties: false },
    ),
    log: Type.Object({ kind: Type.String() }),
    store: Type.Object({ kind: Type.String() }),
    collector: Type.Object(
      {
        port: Type.Optional(Port),
        /** CollectorOptions fields (limits, privacy, dedup, CORS); unset fields take the defaults. */
        options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
      { additionalProperties: false, default: {} },
    ),
    processor: Type.Object(
      {
        /** Serves only /health; omit for no HTTP at all. */
        port: Type.Optional(Port),
        pipelines: Type.Boolean({ default: true }),
        /** Worker threads for the built-in pipelines, as `tracklane start --stream-workers`; 0: this thread. */
        streamWorkers: Type.Optional(Type.Integer({ minimum: 0 })),
        /**
         * What a processor that does not run the built-in pipelines does: 'cold' waits and, on taking over,
         * resumes from its own checkpoint; 'warm' mirrors them into shadow tables and takes over by swapping
         * them in (twice the pipelines' CPU and table writes). See docs/scaling-out.md.
         */
        standby: Type.Union([Type.Literal('cold'), Type.Literal('warm')], { default: 'cold' }),
      },
      { additionalProperties: false, default: {} },
    ),
    api: Type.Object({ port: Type.Optional(Port) }, { additionalProperties: false, default: {} }),
  },
  { additionalProperties: false },
);

export type DeploymentConfig = Omit<Static<typeof FileShape>, 'log' | 'store'> & {
  log: LogConfig;
  store: StoreConfig;
};

/** Parses and validates a config object; every problem is listed in one E_CONFIG error, by field. */
export function parseDeploymentConfig(input: unknown, source = 'config'): DeploymentConfig {
  const value = Value.Default(FileShape, structuredClone(input)) as Static<typeof FileShape>;
  const problems = collect(FileShape, value, '');
  // log and store are checked against their kind's schema whenever the kind is readable, so one run
  // reports their fields beside the rest of the file's problems.
  if (typeof value.log?.kind === 'string') problems.push(...checkKind('log', value.log, LOG_KINDS));
  if (typeof value.store?.kind === 'string') problems.push(...checkKind('store', value.store, STORE_KINDS));
  if (problems.length > 0) {
    throw new TracklaneError('E_CONFIG', `${source} is invalid:\n  ${problems.join('\n  ')}`, {
      fields: problems.map((p) => {
        const [path = '', ...rest] = p.split(': ');
        return { path, message: rest.join(': ') };
      }),
    });
  }
  return value as DeploymentConfig;
}

/** Reads and validates a JSON config file. */
export async function loadDeploymentConfig(path: string): Promise<DeploymentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TracklaneError('E_CONFIG', `cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TracklaneError('E_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseDeploymentConfig(parsed, path);
}

function checkKind(field: string, value: { kind: string }, kinds: Record<string, TSchema>): string[] {
  const schema = kinds[value.kind];
  if (schema === undefined) {
    return [
      `/${field}/kind: must be one of ${Object.keys(kinds)
        .map((k) => `'${k}'`)
        .join(', ')}, got '${value.kind}'`,
    ];
  }
  return collect(schema, value, `/${field}`);
}

function collect(schema: TSchema, value: unknown, prefix: string): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(schema, value)) {
    // TypeBox points at the unknown property itself; say it the way a config reader thinks of it.
    const choices = literalChoices(error.schema);
    const message =
      error.message === 'Unexpected property'
        ? 'unknown field'
        : error.message === 'Expected required property'
          ? 'missing (required)'
          : choices
            ? `must be one of ${choices}, got ${JSON.stringify(error.value)}`
            : error.message.toLowerCase();
    problems.push(`${prefix}${error.path || '/'}: ${message}`);
  }
  // TypeBox reports a missing field twice (required, then wrong type); the first says it best.
  const seen = new Set<string>();
  return problems.filter((p) => {
    const path = p.slice(0, p.indexOf(': '));
    if (seen.has(path)) return false;
    seen.add(path);
    return true;
  });
}

/** "'a', 'b', 'c'" for a union of string literals (TypeBox itself only says "expected union value"). */
function literalChoices(schema: TSchema): string | undefined {
  const anyOf = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (!anyOf || anyOf.length === 0 || !anyOf.every((s) => typeof s.const === 'string')) return undefined;
  return anyOf.map((s) => `'${String(s.const)}'`).join(', ');
}
