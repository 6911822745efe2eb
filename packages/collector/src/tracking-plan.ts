import type { TrackedEvent } from '@tracklane/core';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * A tracking plan for one source: a JSON Schema per track event name, checked against the event's
 * `properties`. `strict` rejects violating events (to dead letters); `warn` accepts them and lists the
 * violations in `context.tracklane.violations`.
 */
export interface TrackingPlanConfig {
  mode: 'strict' | 'warn';
  events: Record<string, object>;
  /** Whether track events not named in `events` pass. Default true. */
  allowUnplanned?: boolean;
}

/** Keyed by source id (`src_...`), or `*` for every source without a plan of its own. */
export type TrackingPlans = Record<string, TrackingPlanConfig>;

export class TrackingPlan {
  readonly mode: 'strict' | 'warn';
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #allowUnplanned: boolean;

  constructor(config: TrackingPlanConfig, ajv: Ajv) {
    this.mode = config.mode;
    this.#allowUnplanned = config.allowUnplanned ?? true;
    for (const [name, schema] of Object.entries(config.events))
      this.#validators.set(name, ajv.compile(schema));
  }

  /** Violations of the plan, or undefined when the event follows it. */
  check(event: TrackedEvent): string[] | undefined {
    if (event.type !== 'track') return undefined;
    const validate = this.#validators.get(event.event);
    if (validate === undefined) {
      return this.#allowUnplanned ? undefined : [`event '${event.event}' is not in the tracking plan`];
    }
    if (validate(event.properties ?? {})) return undefined;
    return (validate.errors ?? []).map((e) => `properties${e.instancePath} ${e.message ?? 'is invalid'}`);
  }
}

/** Compiles every plan once at start; a schema that does not compile is a configuration error. */
export function compileTrackingPlans(plans: TrackingPlans | undefined): Map<string, TrackingPlan> {
  const compiled = new Map<string, TrackingPlan>();
  if (plans === undefined) return compiled;
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const [sourceId, config] of Object.entries(plans))
    compiled.set(sourceId, new TrackingPlan(config, ajv));
  return compiled;
}
