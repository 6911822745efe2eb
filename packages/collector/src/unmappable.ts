/**
 * A protocol adapter's answer for an input event it cannot turn into the canonical model (undecodable
 * base64, unknown event kind...). It travels through ingestion like any candidate and is dead-lettered
 * with `raw` as the payload, so one bad event never fails its batch.
 */
export class Unmappable {
  readonly reason: string;
  readonly raw: unknown;

  constructor(reason: string, raw: unknown) {
    this.reason = reason;
    this.raw = raw;
  }
}
