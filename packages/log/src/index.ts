export { assignRoundRobin } from './assign-round-robin.ts';
export { callRebalanceListener, type PartitionLag, partitionLag, pollLimits } from './consumer-support.ts';
export { EmbeddedLog, type EmbeddedLogOptions } from './embedded/embedded-log.ts';
export type {
  AppendAck,
  Consumer,
  ConsumerOptions,
  Headers,
  Log,
  LogRecord,
  PartitionOffsets,
  PollOptions,
  ReadOptions,
  RebalanceListener,
  RecordInput,
  TopicConfig,
  TopicDescription,
  TopicPartition,
  TopicPartitionOffset,
} from './log.ts';
export { validateName } from './names.ts';
export { assertConsumerOffset } from './offset-check.ts';
export { partitionForKey } from './partitioner.ts';
export { SingleFlight } from './single-flight.ts';
