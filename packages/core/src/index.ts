export { type ErrorCode, type FieldError, isTracklaneError, TracklaneError } from './errors.ts';
export * from './event-schema.ts';
export { newMessageId, newSecret } from './ids.ts';
export { type EventValidation, validateEvent } from './validate-event.ts';
