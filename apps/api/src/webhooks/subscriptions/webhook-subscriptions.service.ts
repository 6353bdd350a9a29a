import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { ValidationFailedError } from '../../common/errors/domain-error';
import { type AuditedChange, AuditService } from '../../audit';
import { PhiCipher } from '../../encryption';
import { newWebhookSecret, WEBHOOK_SECRET_BINDING } from '../webhook-secret';
import { checkWebhookUrl, type WebhookUrlPolicy, webhookUrlPolicy } from '../url-policy';
import { WebhooksError } from '../webhooks.errors';
import type { WebhookInputBody, WebhookUpdateBody } from './webhook.schemas';
import {
  type WebhookSubscriptionRow,
  WebhookSubscriptionsRepository,
} from './webhook-subscriptions.repository';

/** Who acts: the caller's lab and user id. */
export interface WebhookActor {
  labId: string;
  userId: string;
}

const RESOURCE = 'webhook_subscription';

/**
 * The lab's webhook subscriptions (issue 17, docs/events.md "Subscriptions"):
 * list, read, create (within WEBHOOKS_MAX_PER_LAB), change, delete and
 * rotate the signing secret. URLs pass the URL policy before anything is
 * written; secrets are stored encrypted with the lab's data key and shown
 * only by create and rotate. Each write carries its audit row in its own
 * transaction (ids, event types and flags; the URL by name only — it can
 * hold a receiver's token — and never a secret).
 */
@Injectable()
export class WebhookSubscriptions {
  private readonly policy: WebhookUrlPolicy;

  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly repo: WebhookSubscriptionsRepository,
    private readonly cipher: PhiCipher,
    private readonly audit: AuditService,
  ) {
    this.policy = webhookUrlPolicy(env);
  }

  list(actor: WebhookActor): Promise<{ webhooks: WebhookSubscriptionRow[] }> {
    return this.db.read(actor.labId, async (db) => ({
      webhooks: await this.repo.list(db, actor.labId),
    }));
  }

  async get(actor: WebhookActor, id: string): Promise<WebhookSubscriptionRow> {
    const found = await this.db.read(actor.labId, (db) => this.repo.get(db, actor.labId, id));
    if (!found) throw WebhooksError.notFound();
    return found;
  }

  async create(
    actor: WebhookActor,
    body: WebhookInputBody,
  ): Promise<WebhookSubscriptionRow & { secret: string }> {
    await this.checkUrl(body.url);
    const secret = newWebhookSecret();
    const stored = await this.cipher.encryptText(actor.labId, WEBHOOK_SECRET_BINDING, secret);
    const active = body.active ?? true;
    const row = await this.db.withLab(actor.labId, async (em) => {
      const count = await this.repo.lockLabAndCount(em, actor.labId);
      if (count >= this.env.WEBHOOKS_MAX_PER_LAB)
        throw WebhooksError.limit(this.env.WEBHOOKS_MAX_PER_LAB);
      const created = await this.repo.insert(em, {
        labId: actor.labId,
        url: body.url,
        events: body.events,
        active,
        secret: stored,
        createdBy: actor.userId,
      });
      await this.record(em, actor, created.id, 'create', [
        { field: 'url' },
        { field: 'events', new: created.events },
        { field: 'active', new: created.active },
        { field: 'secret' },
      ]);
      return created;
    });
    return { ...row, secret };
  }

  async update(
    actor: WebhookActor,
    id: string,
    body: WebhookUpdateBody,
  ): Promise<WebhookSubscriptionRow> {
    if (body.url === undefined && body.events === undefined && body.active === undefined)
      throw new ValidationFailedError({
        '': 'names nothing to change (one of url, events, active is required)',
      });
    if (body.url !== undefined) await this.checkUrl(body.url);
    return this.db.withLab(actor.labId, async (em) => {
      const before = await this.repo.lock(em, actor.labId, id);
      if (!before) throw WebhooksError.notFound();
      const after = await this.repo.update(em, actor.labId, id, body);
      const changed: AuditedChange['changedFields'] = [];
      if (body.url !== undefined && body.url !== before.url) changed.push({ field: 'url' });
      if (body.events !== undefined && !sameList(before.events, after.events))
        changed.push({ field: 'events', old: before.events, new: after.events });
      if (body.active !== undefined && body.active !== before.active)
        changed.push({ field: 'active', old: before.active, new: after.active });
      await this.record(em, actor, id, 'update', changed);
      return after;
    });
  }

  async delete(actor: WebhookActor, id: string): Promise<void> {
    await this.db.withLab(actor.labId, async (em) => {
      if (!(await this.repo.delete(em, actor.labId, id))) throw WebhooksError.notFound();
      await this.record(em, actor, id, 'delete', []);
    });
  }

  async rotateSecret(
    actor: WebhookActor,
    id: string,
  ): Promise<WebhookSubscriptionRow & { secret: string }> {
    const secret = newWebhookSecret();
    const stored = await this.cipher.encryptText(actor.labId, WEBHOOK_SECRET_BINDING, secret);
    const row = await this.db.withLab(actor.labId, async (em) => {
      if (!(await this.repo.lock(em, actor.labId, id))) throw WebhooksError.notFound();
      const rotated = await this.repo.rotate(
        em,
        actor.labId,
        id,
        stored,
        this.env.WEBHOOK_SECRET_OVERLAP_HOURS,
      );
      await this.record(em, actor, id, 'update', [
        { field: 'secret' },
        { field: 'previous_secret' },
      ]);
      return rotated;
    });
    return { ...row, secret };
  }

  /** 400 naming `url` when the URL policy refuses it (resolving its host name first). */
  private async checkUrl(url: string): Promise<void> {
    const reason = await checkWebhookUrl(url, this.policy);
    if (reason !== null) throw new ValidationFailedError({ url: reason });
  }

  private record(
    em: Parameters<AuditService['recordChange']>[0],
    actor: WebhookActor,
    id: string,
    interaction: AuditedChange['interaction'],
    changedFields: AuditedChange['changedFields'],
  ): Promise<void> {
    return this.audit.recordChange(em, {
      labId: actor.labId,
      resourceType: RESOURCE,
      resourceId: id,
      interaction,
      changedFields,
      patients: [],
    });
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
