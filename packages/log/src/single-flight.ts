/**
 * One run of `task` at a time: calling while one runs joins it rather than starting another (retention
 * passes, which a timer and callers both start). `running` lets close() wait for the current one.
 */
export class SingleFlight {
  #running: Promise<void> | null = null;

  constructor(private readonly task: () => Promise<void>) {}

  get running(): Promise<void> | null {
    return this.#running;
  }

  run(): Promise<void> {
    this.#running ??= this.task().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }
}
