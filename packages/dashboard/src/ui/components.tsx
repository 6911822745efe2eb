import { type ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useId, useState } from 'preact/hooks';
import { type Api, ApiError, sqlString } from './api.ts';
import { setParams } from './route.ts';
import { browserTimeZone, PRESETS } from './time.ts';

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi outside the signed-in app');
  return api;
}

export interface QueryState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/** Runs `load` whenever `key` changes, aborting the previous run; keeps the last data while reloading. */
export function useQuery<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): QueryState<T> {
  const [state, setState] = useState<QueryState<T>>({
    data: undefined,
    error: undefined,
    loading: key !== null,
  });
  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: Error) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key]);
  return state;
}

/** Marks the first time real data is on screen: the figure the first-screen benchmark reads. */
let marked = false;
export function markFirstData(): void {
  if (marked) return;
  marked = true;
  requestAnimationFrame(() => performance.mark('tracklane:first-data'));
}

export function Card(props: {
  title?: string;
  children: ComponentChildren;
  class?: string;
  actions?: ComponentChildren;
}) {
  return (
    <section class={`card ${props.class ?? ''}`} aria-label={props.title}>
      {(props.title !== undefined || props.actions !== undefined) && (
        <header class="card-head">
          {props.title !== undefined && <h2>{props.title}</h2>}
          {props.actions}
        </header>
      )}
      {props.children}
    </section>
  );
}

export function Stat(props: {
  label: string;
  value: string;
  hint?: string;
  testId?: string;
  tone?: 'bad' | 'ok';
}) {
  return (
    <div class={`stat ${props.tone ?? ''}`}>
      <div class="stat-label">{props.label}</div>
      <div class="stat-value" data-testid={props.testId}>
        {props.value}
      </div>
      {props.hint !== undefined && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  const code = error instanceof ApiError ? `${error.code}: ` : '';
  return (
    <p class="error" role="alert">
      {code}
      {error.message}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <span class="loading" role="status">
      Loading…
    </span>
  ) : null;
}

interface DraftInputProps {
  value: string;
  onCommit: (value: string) => void;
  id?: string;
  list?: string | undefined;
  placeholder?: string;
  'aria-label'?: string;
}

/**
 * A text input that owns what is being typed and hands it over on change (blur, Enter). Views re-render
 * every second (live) or when a query answers; a plain controlled input would then reset unsaved typing.
 */
export function DraftInput({ value, onCommit, ...rest }: DraftInputProps) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <input
      type="text"
      {...rest}
      value={draft}
      onInput={(e) => setDraft(e.currentTarget.value)}
      onChange={(e) => {
        if (e.currentTarget.value !== value) onCommit(e.currentTarget.value);
      }}
    />
  );
}

/** A labelled form control: the label is a real <label for>, so clicking it and screen readers work. */
export function Field(props: { label: string; children: (id: string) => ComponentChildren; class?: string }) {
  const id = useId();
  return (
    <div class={`field ${props.class ?? ''}`}>
      <label for={id}>{props.label}</label>
      {props.children(id)}
    </div>
  );
}

/** Event names seen recently, for autocompletion; `$pageview` and friends are the non-track types. */
export function useEventNames(): string[] {
  const api = useApi();
  // The last 30 days by received_at (ingest order, so DuckDB's zone maps skip old row groups), grouped on a
  // low-cardinality column: a few ms even on millions of events.
  const since = new Date(Date.now() - 30 * 86_400_000).toISOString().replace('Z', '');
  const { data } = useQuery('event-names', (signal) =>
    api.sql<{ label: string }>(
      `SELECT CASE WHEN type = 'track' THEN event WHEN type = 'page' THEN '$pageview' ELSE '$' || type END AS label, count(*) AS n
       FROM events WHERE received_at >= TIMESTAMP ${sqlString(since)} GROUP BY label ORDER BY n DESC LIMIT 300`,
      signal,
    ),
  );
  return (data ?? []).map((r) => r.label).filter((n) => n !== null);
}

export function EventNamesList({ id }: { id: string }) {
  const names = useEventNames();
  return (
    <datalist id={id}>
      {names.map((n) => (
        <option key={n} value={n} />
      ))}
    </datalist>
  );
}

const ZONES = [
  'UTC',
  'Europe/London',
  'Europe/Paris',
  'Europe/Berlin',
  'America/New_York',
  'America/Chicago',
  'America/Los_Angeles',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'Asia/Singapore',
  'Australia/Sydney',
];

/** Date range presets, custom dates (inclusive) and the time zone buckets are cut in. */
export function RangePicker({ params }: { params: URLSearchParams }) {
  const custom = params.has('from') && params.has('to');
  const zone = params.get('tz') ?? browserTimeZone();
  const zones = ZONES.includes(zone) ? ZONES : [zone, ...ZONES];
  const today = new Date().toISOString().slice(0, 10);
  return (
    <div class="range-picker">
      <Field label="Date range">
        {(id) => (
          <select
            id={id}
            value={custom ? 'custom' : (params.get('range') ?? '7d')}
            onChange={(e) => {
              const v = e.currentTarget.value;
              if (v === 'custom') {
                const from = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
                setParams({ range: undefined, from, to: today }, 'push');
              } else setParams({ range: v, from: undefined, to: undefined }, 'push');
            }}
          >
            {PRESETS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
            <option value="custom">Custom dates…</option>
          </select>
        )}
      </Field>
      {custom && (
        <>
          <Field label="From">
            {(id) => (
              <input
                id={id}
                type="date"
                value={params.get('from') ?? ''}
                max={params.get('to') ?? today}
                onChange={(e) => setParams({ from: e.currentTarget.value }, 'push')}
              />
            )}
          </Field>
          <Field label="To (inclusive)">
            {(id) => (
              <input
                id={id}
                type="date"
                value={params.get('to') ?? ''}
                min={params.get('from') ?? undefined}
                onChange={(e) => setParams({ to: e.currentTarget.value }, 'push')}
              />
            )}
          </Field>
        </>
      )}
      <Field label="Time zone">
        {(id) => (
          <select id={id} value={zone} onChange={(e) => setParams({ tz: e.currentTarget.value }, 'push')}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}

export interface FilterValue {
  property: string;
  operator: string;
  value?: string | number | boolean | (string | number | boolean)[];
}

const OPERATORS: [string, string][] = [
  ['eq', '='],
  ['neq', '≠'],
  ['contains', 'contains'],
  ['not_contains', 'does not contain'],
  ['gt', '>'],
  ['gte', '≥'],
  ['lt', '<'],
  ['lte', '≤'],
  ['in', 'is one of'],
  ['is_set', 'is set'],
  ['is_not_set', 'is not set'],
];

/** Filters are kept in the URL as JSON (`filters=[...]`): readable enough, and exactly what the API takes. */
export function parseFilters(text: string | null): FilterValue[] {
  if (text === null || text.length === 0) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as FilterValue[]) : [];
  } catch {
    return [];
  }
}

function valueText(v: FilterValue['value']): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(', ') : String(v);
}

function parseValue(operator: string, text: string): FilterValue['value'] {
  if (operator === 'is_set' || operator === 'is_not_set') return undefined;
  const scalar = (s: string) =>
    ['gt', 'gte', 'lt', 'lte'].includes(operator) && s.trim() !== '' && !Number.isNaN(Number(s))
      ? Number(s)
      : s.trim();
  if (operator === 'in' || operator === 'not_in')
    return text
      .split(',')
      .map(scalar)
      .filter((s) => s !== '');
  return scalar(text);
}

export function FiltersEditor({
  filters,
  onChange,
  name = 'filters',
}: {
  filters: FilterValue[];
  onChange: (f: FilterValue[]) => void;
  name?: string;
}) {
  const [draft, setDraft] = useState<FilterValue[]>(filters);
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const commit = (next: FilterValue[]) => {
    setDraft(next);
    onChange(next.filter((f) => f.property.trim().length > 0));
  };
  return (
    <fieldset class="filters">
      <legend>Filters</legend>
      {draft.map((f, i) => (
        <div class="filter-row" key={i}>
          <DraftInput
            aria-label={`${name} ${i + 1} property`}
            placeholder="property, e.g. plan"
            value={f.property}
            onCommit={(value) => commit(draft.map((d, j) => (j === i ? { ...d, property: value } : d)))}
          />
          <select
            aria-label={`${name} ${i + 1} operator`}
            value={f.operator}
            onChange={(e) =>
              commit(
                draft.map((d, j) =>
                  j === i
                    ? {
                        ...d,
                        operator: e.currentTarget.value,
                        value: parseValue(e.currentTarget.value, valueText(d.value)),
                      }
                    : d,
                ),
              )
            }
          >
            {OPERATORS.map(([op, label]) => (
              <option key={op} value={op}>
                {label}
              </option>
            ))}
          </select>
          {f.operator !== 'is_set' && f.operator !== 'is_not_set' && (
            <DraftInput
              aria-label={`${name} ${i + 1} value`}
              placeholder="value"
              value={valueText(f.value)}
              onCommit={(value) =>
                commit(draft.map((d, j) => (j === i ? { ...d, value: parseValue(d.operator, value) } : d)))
              }
            />
          )}
          <button
            type="button"
            class="icon"
            aria-label={`Remove filter ${i + 1}`}
            onClick={() => commit(draft.filter((_, j) => j !== i))}
          >
            ×
          </button>
        </div>
      ))}
      <button
        type="button"
        class="ghost"
        onClick={() => setDraft([...draft, { property: '', operator: 'eq', value: '' }])}
      >
        + Add filter
      </button>
    </fieldset>
  );
}

/** A ranked list with proportional bars: top pages, referrers, paths. */
export function BarList(props: {
  rows: { label: string; value: number; extra?: string }[];
  valueLabel: string;
  labelHeader: string;
  testId?: string;
}) {
  const max = Math.max(1, ...props.rows.map((r) => r.value));
  if (props.rows.length === 0) return <p class="empty">No data in this range.</p>;
  return (
    <table class="barlist" data-testid={props.testId}>
      <thead>
        <tr>
          <th scope="col">{props.labelHeader}</th>
          <th scope="col" class="num">
            {props.valueLabel}
          </th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr key={r.label}>
            <td>
              <div class="bar" style={{ width: `${(r.value / max) * 100}%` }} />
              <span class="bar-label" title={r.label}>
                {r.label}
              </span>
            </td>
            <td class="num">
              {r.value.toLocaleString('en-US')}
              {r.extra !== undefined && <span class="muted"> {r.extra}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
