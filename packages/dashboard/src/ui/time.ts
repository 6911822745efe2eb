/** Time ranges as the URL holds them (`range=7d`, or `from`/`to` dates) and as the API wants them. */
export interface ResolvedRange {
  from: string;
  to: string;
  label: string;
}

export const PRESETS = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { id: '90d', label: 'Last 90 days', ms: 90 * 86_400_000 },
] as const;

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Offset of `zone` from UTC at `instant`, in ms (positive east of Greenwich). */
function zoneOffset(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The instant of local midnight starting `date` (YYYY-MM-DD) in `zone`. */
export function zonedMidnight(date: string, zone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  // Two passes settle the offset even when midnight is near a DST change.
  let instant = guess - zoneOffset(guess, zone);
  instant = guess - zoneOffset(instant, zone);
  return instant;
}

/** `from`/`to` (custom dates, `to` inclusive) win over a preset; the default is the last 7 days. */
export function resolveRange(params: URLSearchParams, zone: string, now = Date.now()): ResolvedRange {
  const from = params.get('from');
  const to = params.get('to');
  if (from !== null && to !== null && /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to)) {
    const end = new Date(`${to}T00:00:00Z`);
    end.setUTCDate(end.getUTCDate() + 1);
    return {
      from: new Date(zonedMidnight(from, zone)).toISOString(),
      to: new Date(zonedMidnight(end.toISOString().slice(0, 10), zone)).toISOString(),
      label: `${from} – ${to}`,
    };
  }
  const preset = PRESETS.find((p) => p.id === params.get('range')) ?? PRESETS[2];
  // Rounded up to the minute so that one URL asks the same question for a whole minute (cacheable).
  const end = Math.ceil(now / 60_000) * 60_000;
  return {
    from: new Date(end - preset.ms).toISOString(),
    to: new Date(end).toISOString(),
    label: preset.label,
  };
}

export function formatNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '–';
  return `${(ratio * 100).toLocaleString('en-US', { maximumFractionDigits: 1 })}%`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toLocaleString('en-US', { maximumFractionDigits: unit === 0 ? 0 : 1 })} ${units[unit]}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;
}

/** Bucket labels come back as local wall-clock text without a zone; they are shown as such. */
export function bucketToSeconds(bucket: string): number {
  return Date.parse(`${bucket.slice(0, 19)}Z`) / 1000;
}
