/**
 * Bounds the events being appended to the log at once. When the log falls behind, appends pile up here;
 * past the bound the collector answers 503 + Retry-After so clients back off instead of the process
 * queueing without bound.
 */
export class InFlightGate {
  readonly max: number;
  #current = 0;

  constructor(max: number) {
    this.max = max;
  }

  get current(): number {
    return this.#current;
  }

  get full(): boolean {
    return this.#current >= this.max;
  }

  tryAcquire(count: number): boolean {
    // A single request larger than the bound still goes through when nothing else is in flight.
    if (this.#current + count > this.max && this.#current > 0) return false;
    this.#current += count;
    return true;
  }

  release(count: number): void {
    this.#current -= count;
  }
}
