import { Module } from '@nestjs/common';
import { OutboxDispatcher } from './outbox-dispatcher';
import { EventStreamController } from './stream/event-stream.controller';
import { EventStreamHub } from './stream/event-stream.hub';

/**
 * The case outbox's runtime part: the dispatcher, which hands committed
 * events to the optional NATS JetStream sink (EVENTS_NATS_URL) and to the
 * channels other modules register (OutboxChannel); and the live feed
 * (`GET /api/v1/events/stream`, EventStreamHub: one poller per replica). The
 * events themselves are written by the database (docs/events.md).
 */
@Module({
  controllers: [EventStreamController],
  providers: [OutboxDispatcher, EventStreamHub],
  exports: [OutboxDispatcher, EventStreamHub],
})
export class EventsModule {}
