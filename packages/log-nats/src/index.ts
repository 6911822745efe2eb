export { NatsLog, type NatsLogOptions } from './nats-log.ts';
