import { type Static, Type } from '@sinclair/typebox';

/**
 * The canonical event model: the Segment spec's six call types. One TypeBox definition per type gives both
 * the JSON Schema (exported for docs and for other validators) and the static TypeScript type.
 */

const Id = Type.String({ minLength: 1, maxLength: 256 });
const IsoTime = Type.String({ format: 'date-time', maxLength: 64 });
const Bag = Type.Record(Type.String(), Type.Unknown());

/** Fields that every call may carry. Client-side fields that Segment libraries send are accepted so that
 * official clients work unchanged; anything else at the top level is rejected with a clear message. */
const common = {
  messageId: Type.Optional(Id),
  anonymousId: Type.Optional(Id),
  userId: Type.Optional(Id),
  timestamp: Type.Optional(IsoTime),
  originalTimestamp: Type.Optional(IsoTime),
  sentAt: Type.Optional(IsoTime),
  context: Type.Optional(Bag),
  integrations: Type.Optional(Bag),
  writeKey: Type.Optional(Type.String()),
  _metadata: Type.Optional(Bag),
  channel: Type.Optional(Type.String()),
  version: Type.Optional(Type.Union([Type.String(), Type.Number()])),
};

const closed = { additionalProperties: false } as const;

export const TrackEventSchema = Type.Object(
  {
    type: Type.Literal('track'),
    event: Type.String({ minLength: 1, maxLength: 512 }),
    properties: Type.Optional(Bag),
    ...common,
  },
  closed,
);
export const PageEventSchema = Type.Object(
  {
    type: Type.Literal('page'),
    name: Type.Optional(Type.String({ maxLength: 512 })),
    category: Type.Optional(Type.String({ maxLength: 512 })),
    properties: Type.Optional(Bag),
    ...common,
  },
  closed,
);
export const ScreenEventSchema = Type.Object(
  {
    type: Type.Literal('screen'),
    name: Type.Optional(Type.String({ maxLength: 512 })),
    category: Type.Optional(Type.String({ maxLength: 512 })),
    properties: Type.Optional(Bag),
    ...common,
  },
  closed,
);
export const IdentifyEventSchema = Type.Object(
  { type: Type.Literal('identify'), traits: Type.Optional(Bag), ...common },
  closed,
);
export const GroupEventSchema = Type.Object(
  { type: Type.Literal('group'), groupId: Id, traits: Type.Optional(Bag), ...common },
  closed,
);
export const AliasEventSchema = Type.Object(
  { type: Type.Literal('alias'), previousId: Id, ...common, userId: Id },
  closed,
);

export const EventSchemas = {
  track: TrackEventSchema,
  page: PageEventSchema,
  screen: ScreenEventSchema,
  identify: IdentifyEventSchema,
  group: GroupEventSchema,
  alias: AliasEventSchema,
} as const;

export type EventType = keyof typeof EventSchemas;
export const EVENT_TYPES = Object.keys(EventSchemas) as EventType[];

export const IncomingEventSchema = Type.Union(Object.values(EventSchemas));
export type IncomingEvent = Static<typeof IncomingEventSchema>;
export type TrackEvent = Static<typeof TrackEventSchema>;
export type PageEvent = Static<typeof PageEventSchema>;
export type IdentifyEvent = Static<typeof IdentifyEventSchema>;

/** Server-side fields added by the collector once an event is accepted. */
export const ServerFieldsSchema = Type.Object({
  messageId: Id,
  timestamp: IsoTime,
  receivedAt: IsoTime,
  /** The source (write key's id, never the key itself) the event arrived through. */
  sourceId: Type.String(),
});
export type ServerFields = Static<typeof ServerFieldsSchema>;

/** What travels on the `events` topic and lands in storage. */
export const TrackedEventSchema = Type.Intersect([IncomingEventSchema, ServerFieldsSchema]);
export type TrackedEvent = IncomingEvent & ServerFields;
