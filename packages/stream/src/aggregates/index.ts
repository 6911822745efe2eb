export { type Aggregate, aggregates, type ResultOf } from './aggregate.ts';
export { avg, count, latest, max, min, sum } from './basic.ts';
export { distinct } from './distinct.ts';
export { approxDistinct, HyperLogLog } from './hyperloglog.ts';
export { percentiles } from './percentiles.ts';
export { type TopKEntry, topK } from './top-k.ts';
