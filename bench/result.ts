/** One measured figure, printed beside a baseline measured in the same run. */
export interface BenchResult {
  workload: string;
  /** What was measured, e.g. "log append (4 appenders, batches of 100, durable)". */
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
  /** value / baseline.value for throughputs; baseline.value / value for latencies (higher is better). */
  ratio: number;
  /** The goal an issue set for the ratio, if any. */
  goal?: number;
  /** Extra figures worth printing (p50/p99 latency, ...). */
  extra?: Record<string, string | number>;
}

export interface BenchContext {
  /** Scratch directory on the same disk as a real data dir; removed after the run. */
  tmpDir: string;
  /** Scale factor 0..1 from --quick (CI smoke) to a full run. */
  quick: boolean;
  progress(label: string, done: number, total: number): void;
}

export interface Workload {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}
