export { type BackoffOptions, backoffDelay, parseRetryAfter } from './backoff.ts';
export { Dispatcher, type DispatcherOptions, type DropReason } from './dispatcher.ts';
export {
  type AliasParams,
  createMessage,
  type GroupParams,
  type IdentifyParams,
  type Library,
  type Message,
  type MessageParams,
  type PageParams,
  type ScreenParams,
  type TrackParams,
} from './message.ts';
export { type EventQueue, MemoryQueue } from './queue.ts';
export { batchBody, type Transport, type TransportResponse } from './transport.ts';
export { uuid } from './uuid.ts';
