import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `400d`, `36h`, `2w`, `90m` -> milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(value.trim());
  if (match === null || Number(match[1]) === 0) {
    throw new InvalidArgumentError('expected a duration like 400d, 36h, 2w or 90m');
  }
  return Number(match[1]) * UNITS[match[2]!]!;
}
