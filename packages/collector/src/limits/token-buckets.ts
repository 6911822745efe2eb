/**
 * One token bucket per key (write key, client IP), refilled continuously at `ratePerSecond` up to
 * `burst`. The map is bounded: when full, the least recently created bucket is dropped, which at worst
 * grants a forgotten key a fresh burst.
 */
export class TokenBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #tokens = new Map<string, { tokens: number; at: number }>();

  constructor(ratePerSecond: number, burst: number, maxKeys = 100_000) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Takes `cost` tokens; returns 0 when allowed, else the whole seconds until they would be there. */
  take(key: string, cost: number, nowMs: number): number {
    let bucket = this.#tokens.get(key);
    if (bucket === undefined) {
      if (this.#tokens.size >= this.#maxKeys) {
        const oldest = this.#tokens.keys().next().value;
        if (oldest !== undefined) this.#tokens.delete(oldest);
      }
      bucket = { tokens: this.#burst, at: nowMs };
      this.#tokens.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((nowMs - bucket.at) * this.#rate) / 1000);
      bucket.at = nowMs;
    }
    // A request larger than the whole burst could never pass; let it through when the bucket is full so a
    // big batch is slowed, not refused forever.
    const needed = Math.min(cost, this.#burst);
    if (bucket.tokens >= needed) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((needed - bucket.tokens) / this.#rate));
  }

  get size(): number {
    return this.#tokens.size;
  }
}
