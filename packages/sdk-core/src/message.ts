import type { EventType, IncomingEvent } from '@tracklane/core';
import { uuid } from './uuid.ts';

/** An event as the SDKs put it on the wire: always with a messageId (the dedupe key end to end) and a
 * client timestamp. The shape is the collector's own schema, so a type error here is a rejected event there. */
export type Message = IncomingEvent & { messageId: string; timestamp: string };

type Fields<T extends EventType> = Omit<
  Extract<IncomingEvent, { type: T }>,
  'type' | 'messageId' | 'timestamp' | 'sentAt' | 'writeKey' | '_metadata'
> & {
  /** Set it to make a retried call idempotent across process restarts; generated otherwise. */
  messageId?: string;
  /** When the thing happened; defaults to now. */
  timestamp?: string | Date;
};

export type TrackParams = Fields<'track'>;
export type PageParams = Fields<'page'>;
export type ScreenParams = Fields<'screen'>;
export type IdentifyParams = Fields<'identify'>;
export type GroupParams = Fields<'group'>;
export type AliasParams = Fields<'alias'>;
export type MessageParams<T extends EventType> = Fields<T>;

/** Who sent the event, stamped into `context.library` as the Segment spec does. */
export interface Library {
  name: string;
  version: string;
}

/**
 * Builds one message of any of the six call types. Both SDKs go through here so that ids, timestamps and
 * context.library are produced one way only.
 */
export function createMessage<T extends EventType>(
  type: T,
  fields: Fields<T>,
  library: Library,
): Extract<Message, { type: T }> {
  const { timestamp, messageId, context, ...rest } = fields;
  return {
    ...rest,
    type,
    messageId: messageId ?? uuid(),
    timestamp: timestamp instanceof Date ? timestamp.toISOString() : (timestamp ?? new Date().toISOString()),
    context: { ...context, library },
  } as unknown as Extract<Message, { type: T }>;
}
