export { KafkaLog, type KafkaLogOptions } from './kafka-log.ts';
