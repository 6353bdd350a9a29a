import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { RequestContext } from '@lhcms/request-context';
import { ApiErrors, ApiJsonBody, ApiOk } from '../../common/openapi/api-docs.decorators';
import { registerSchemas, SchemaPipe } from '../../common/validation/schema.pipe';
import { Audited } from '../../audit';
import { Permission, RequirePermission } from '../../ums-gateway';
import {
  DELIVERY_STATUSES,
  type DeliveryActor,
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  WebhookDeliveriesService,
} from './webhook-deliveries.service';
import { type ReplayBody, WEBHOOK_DELIVERY_SCHEMAS } from './webhook-delivery.schemas';

registerSchemas(WEBHOOK_DELIVERY_SCHEMAS);

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description: 'The lab whose webhook this is. Default: your first active membership.',
});
const WEBHOOK_ID = ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } });

/**
 * A webhook's delivery log, manual redeliver and replay (lab admins;
 * docs/api.md "Webhooks", docs/events.md "Delivery"). A webhook of another
 * lab is not found (404).
 */
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/v1/webhooks/:id')
export class WebhookDeliveriesController {
  constructor(
    private readonly deliveries: WebhookDeliveriesService,
    private readonly context: RequestContext,
  ) {}

  private actor(): DeliveryActor {
    return { labId: this.context.lab.labId, userId: this.context.principal.userId };
  }

  @Get('deliveries')
  @RequirePermission(Permission.LabSettings)
  @ApiOperation({
    summary: "A webhook's delivery log, newest first (keyset pages)",
    description:
      'One row per (event, attempt series): live deliveries, redeliveries and replays, with status, attempts and the last error — never a response body.',
  })
  @LAB_HEADER
  @WEBHOOK_ID
  @ApiQuery({ name: 'status', required: false, enum: DELIVERY_STATUSES })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT_MAX, default: LIST_LIMIT_DEFAULT },
  })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOk('WebhookDeliveryList')
  @ApiErrors(400, 401, 403, 404, 429, 503)
  list(@Param('id') id: string, @Query() query: Record<string, unknown>) {
    return this.deliveries.list(this.actor(), id, query);
  }

  @Post('deliveries/:delivery_id/redeliver')
  @HttpCode(202)
  @RequirePermission(Permission.LabSettings)
  @Audited({
    resourceType: 'webhook_delivery',
    interaction: 'create',
    mode: 'transactional',
    successStatus: 202,
  })
  @ApiOperation({
    summary: 'Send an event of the log again (a new delivery, the same webhook-id)',
    description:
      "Queued at once, in its case's order for this webhook (it goes before the case's later pending deliveries). The answer is the new delivery.",
  })
  @LAB_HEADER
  @WEBHOOK_ID
  @ApiParam({ name: 'delivery_id', schema: { type: 'string', format: 'uuid' } })
  @ApiJsonBody('WebhookRedeliverInput')
  @ApiOk('WebhookDelivery', 202, 'Queued')
  @ApiErrors(400, 401, 403, 404, 415, 429, 503)
  redeliver(
    @Param('id') id: string,
    @Param('delivery_id') deliveryId: string,
    @Body(new SchemaPipe(WEBHOOK_DELIVERY_SCHEMAS, 'WebhookRedeliverInput')) _body: object,
  ) {
    return this.deliveries.redeliver(this.actor(), id, deliveryId);
  }

  @Post('replay')
  @HttpCode(202)
  @RequirePermission(Permission.LabSettings)
  @Audited({
    resourceType: 'webhook_replay',
    interaction: 'create',
    mode: 'transactional',
    idParam: 'id',
    successStatus: 202,
  })
  @ApiOperation({
    summary: "Send the lab's events of a time window again",
    description:
      "New deliveries (origin `replay`) of the lab's dispatched events of this webhook's types that occurred in [`since`, `until`) and are still in the outbox (see the retention), in order. `since` in the future, or `until` not after `since`, is 400; a window with more than WEBHOOK_REPLAY_MAX events is 400 and makes nothing.",
  })
  @LAB_HEADER
  @WEBHOOK_ID
  @ApiJsonBody('WebhookReplayInput')
  @ApiOk('WebhookReplay', 202, 'Queued; how many deliveries were made')
  @ApiErrors(400, 401, 403, 404, 415, 429, 503)
  replay(
    @Param('id') id: string,
    @Body(new SchemaPipe(WEBHOOK_DELIVERY_SCHEMAS, 'WebhookReplayInput')) body: ReplayBody,
  ) {
    return this.deliveries.replay(this.actor(), id, body);
  }
}
