import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { ValidationFailedError } from '../../common/errors/domain-error';
import { ApiErrors, ApiJsonBody, ApiOk } from '../../common/openapi/api-docs.decorators';
import { SchemaPipe } from '../../common/validation/schema.pipe';
import { Audited, type AuditSpec } from '../../audit';
import { Permission, RequirePermission } from '../../ums-gateway';
import { WEBHOOK_SCHEMAS, type WebhookInputBody, type WebhookUpdateBody } from './webhook.schemas';
import { WebhookIdPipe } from './webhook-id.pipe';
import { type WebhookActor, WebhookSubscriptions } from './webhook-subscriptions.service';

const ID = ApiParam({
  name: 'id',
  schema: { type: 'string', format: 'uuid' },
  description: "The subscription's id (not a UUID: 400; not in your lab: 404).",
});

/** A write's audit row, recorded in its own transaction (no URL value, no secret). */
const audited = (interaction: AuditSpec['interaction'], successStatus = 200) =>
  Audited({
    resourceType: 'webhook_subscription',
    interaction,
    mode: 'transactional',
    idParam: 'id',
    ...(successStatus !== 200 ? { successStatus } : {}),
  });

/** Every route: lab admins only. */
const ADMIN = RequirePermission(Permission.LabSettings);

/**
 * The lab's webhook subscriptions (issue 17): lab admins choose where the
 * lab's case events are POSTed, signed with a per-subscription secret
 * (docs/events.md, "Webhooks").
 */
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/v1/webhooks')
export class WebhookSubscriptionsController {
  constructor(
    private readonly subscriptions: WebhookSubscriptions,
    private readonly context: RequestContext,
  ) {}

  private actor(): WebhookActor {
    return { labId: this.context.lab.labId, userId: this.context.principal.userId };
  }

  @Get()
  @ADMIN
  @ApiOperation({
    summary: "Your lab's webhook subscriptions (lab admins)",
    description: `Oldest first, all of them (a lab has at most WEBHOOKS_MAX_PER_LAB; no paging, and no query parameters). Never the secrets.`,
  })
  @ApiOk('WebhookSubscriptionList')
  @ApiErrors(400, 401, 403, 429, 503)
  list(@Query() query: Record<string, unknown>) {
    const keys = Object.keys(query ?? {});
    if (keys.length > 0)
      throw new ValidationFailedError(
        Object.fromEntries(
          keys.map((k) => [
            /^[A-Za-z0-9_-]{1,64}$/.test(k) ? k : '',
            'is not a parameter of this list',
          ]),
        ),
      );
    return this.subscriptions.list(this.actor());
  }

  @Post()
  @ADMIN
  @HttpCode(201)
  @audited('create', 201)
  @ApiOperation({
    summary: 'Subscribe a URL to event types (lab admins)',
    description:
      'The answer carries the signing `secret` (`whsec_…`): shown here and on rotation only. The URL must pass the URL policy (docs/events.md): https in production, a public address (also every address its host name resolves to). 409 `WEBHOOK_LIMIT` past WEBHOOKS_MAX_PER_LAB.',
  })
  @ApiJsonBody('WebhookSubscriptionInput')
  @ApiOk('WebhookSubscriptionWithSecret', 201, 'Created; `Location` names the subscription')
  @ApiErrors(400, 401, 403, 409, 415, 429, 503)
  async create(
    @Res({ passthrough: true }) res: FastifyReply,
    @Body(new SchemaPipe(WEBHOOK_SCHEMAS, 'WebhookSubscriptionInput')) body: WebhookInputBody,
  ) {
    const created = await this.subscriptions.create(this.actor(), body);
    void res.header('location', `/api/v1/webhooks/${created.id}`);
    return created;
  }

  @Get(':id')
  @ADMIN
  @ID
  @ApiOperation({ summary: 'One webhook subscription (lab admins); never its secrets' })
  @ApiOk('WebhookSubscription')
  @ApiErrors(400, 401, 403, 404, 429, 503)
  get(@Param('id', WebhookIdPipe) id: string) {
    return this.subscriptions.get(this.actor(), id);
  }

  @Patch(':id')
  @ADMIN
  @ID
  @audited('update')
  @ApiOperation({
    summary: 'Change a webhook subscription (lab admins)',
    description:
      '`active`, `events` and `url` (at least one); a new URL passes the URL policy like a new subscription. The secret stays (rotate it with `rotate-secret`).',
  })
  @ApiJsonBody('WebhookSubscriptionUpdate')
  @ApiOk('WebhookSubscription')
  @ApiErrors(400, 401, 403, 404, 415, 429, 503)
  update(
    @Param('id', WebhookIdPipe) id: string,
    @Body(new SchemaPipe(WEBHOOK_SCHEMAS, 'WebhookSubscriptionUpdate')) body: WebhookUpdateBody,
  ) {
    return this.subscriptions.update(this.actor(), id, body);
  }

  @Delete(':id')
  @ADMIN
  @ID
  @HttpCode(204)
  @audited('delete', 204)
  @ApiOperation({
    summary: 'Delete a webhook subscription (lab admins)',
    description: 'Its delivery log goes with it; nothing more is sent to it.',
  })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(400, 401, 403, 404, 429, 503)
  async remove(@Param('id', WebhookIdPipe) id: string): Promise<void> {
    await this.subscriptions.delete(this.actor(), id);
  }

  @Post(':id/rotate-secret')
  @ADMIN
  @ID
  @HttpCode(200)
  @audited('update')
  @ApiOperation({
    summary: "Rotate a webhook subscription's signing secret (lab admins)",
    description:
      'Body `{}`. Answers with the new `secret` (shown only here). The previous secret keeps signing beside it (a second `v1,` signature) until `previous_secret_expires_at` (WEBHOOK_SECRET_OVERLAP_HOURS, default 24 h), so the receiver can switch without missing a delivery.',
  })
  @ApiJsonBody('WebhookSecretRotation')
  @ApiOk('WebhookSubscriptionWithSecret')
  @ApiErrors(400, 401, 403, 404, 415, 429, 503)
  rotateSecret(
    @Param('id', WebhookIdPipe) id: string,
    @Body(new SchemaPipe(WEBHOOK_SCHEMAS, 'WebhookSecretRotation')) _body: object,
  ) {
    return this.subscriptions.rotateSecret(this.actor(), id);
  }
}
