import { TracklaneError } from '@tracklane/core';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration as milliseconds or a short string: '500ms', '10s', '1m', '30m', '1h', '1d'. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

export function toMs(duration: Duration): number {
  if (typeof duration === 'number') {
    if (!Number.isFinite(duration) || duration < 0) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `duration must be a non-negative number of ms, got ${duration}`,
      );
    }
    return duration;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
  if (match === null) {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `cannot read duration '${duration}': use e.g. '10s', '1m', '1h'`,
    );
  }
  return Number(match[1]) * UNITS[match[2]!]!;
}
