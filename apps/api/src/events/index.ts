/** What other modules may use of the events module (docs/architecture.md, "Dependency rules"). */
export {
  OUTBOX_EVENT_TYPES,
  OUTBOX_EVENT_TYPE_NAMES,
  isOutboxEventType,
  type OutboxEventType,
} from './event-types';
export { SNAPSHOT_COLUMNS, eventSchema, isEventSafe, snapshotSchema } from './event-payload';
export {
  outboxBacklog,
  pruneOutbox,
  type OutboxBacklog,
  type OutboxPruneReport,
} from './outbox-maintenance';
export { EventsModule } from './events.module';
export { OutboxDispatcher, type OutboxChannel } from './outbox-dispatcher';
export { NatsSink, subjectOf, subjectToken, type OutboxEvent } from './nats-sink';
export { EventStreamHub } from './stream/event-stream.hub';
