import { Module } from '@nestjs/common';
import { OutboxDispatcher } from './outbox-dispatcher';

/**
 * The case outbox's runtime part: the dispatcher, which hands committed
 * events to the optional NATS JetStream sink (EVENTS_NATS_URL) and to the
 * channels other modules register (OutboxChannel). The events themselves are
 * written by the database (docs/events.md).
 */
@Module({ providers: [OutboxDispatcher], exports: [OutboxDispatcher] })
export class EventsModule {}
