import { Module } from '@nestjs/common';
import { OutboxDispatcher } from './outbox-dispatcher';

/**
 * The case outbox's runtime part: the dispatcher to the optional NATS
 * JetStream sink (EVENTS_NATS_URL). The events themselves are written by the
 * database (docs/events.md).
 */
@Module({ providers: [OutboxDispatcher], exports: [OutboxDispatcher] })
export class EventsModule {}
