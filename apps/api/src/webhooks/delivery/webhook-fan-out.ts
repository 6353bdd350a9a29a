import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { OutboxDispatcher, type OutboxChannel, type OutboxEvent } from '../../events';
import { WebhookWorker } from './webhook-worker';

/**
 * The webhooks' outbox channel: in the dispatch transaction, one delivery row
 * per (active subscription of the event's lab that lists its type, event),
 * in one statement for the whole round (`lhcms_webhook_fan_out`, an
 * owner-defined function: the rows are of every lab). An event is fanned out
 * exactly when it is marked dispatched; a round that fails leaves neither.
 */
@Injectable()
export class WebhookFanOut implements OutboxChannel, OnModuleInit {
  readonly name = 'webhooks';

  constructor(
    private readonly dispatcher: OutboxDispatcher,
    private readonly worker: WebhookWorker,
  ) {}

  onModuleInit(): void {
    this.dispatcher.addChannel(this);
  }

  async handOff(tx: QueryRunner, events: readonly OutboxEvent[]): Promise<void> {
    const made = (await tx.query(`SELECT lhcms_webhook_fan_out($1::uuid[]) AS n`, [
      events.map((e) => e.id),
    ])) as Array<{ n: number }>;
    // The rows are visible once the dispatch commits, a moment from now.
    if (made[0]?.n > 0) this.worker.nudge(20);
  }
}
