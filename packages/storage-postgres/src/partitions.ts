/** Month partitions of `events`: `events_y2026m01` holds [2026-01-01, 2026-02-01). */

export interface MonthRange {
  /** Zone-less UTC timestamp text, inclusive. */
  from: string;
  /** Exclusive. */
  to: string;
}

/** The distinct months that zone-less UTC `timestamps` fall in. */
export function monthPartitions(timestamps: (string | null)[]): MonthRange[] {
  const months = new Map<string, MonthRange>();
  for (const ts of timestamps) {
    if (ts === null) continue;
    const year = Number(ts.slice(0, 4));
    const month = Number(ts.slice(5, 7));
    const key = ts.slice(0, 7);
    if (months.has(key) || !Number.isInteger(year) || !Number.isInteger(month)) continue;
    const next = month === 12 ? { y: year + 1, m: 1 } : { y: year, m: month + 1 };
    months.set(key, {
      from: `${key}-01 00:00:00`,
      to: `${String(next.y).padStart(4, '0')}-${String(next.m).padStart(2, '0')}-01 00:00:00`,
    });
  }
  return [...months.values()];
}

export function partitionName(from: string): string {
  return `events_y${from.slice(0, 4)}m${from.slice(5, 7)}`;
}
