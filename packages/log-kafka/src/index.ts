export type { GroupProtocol } from './group-protocol.ts';
export { KafkaLog, type KafkaLogOptions } from './kafka-log.ts';
