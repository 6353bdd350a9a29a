import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Audited } from '../audit';
import { CaseIdPipe } from '../case-model';
import { Actor, type CaseActor } from '../cases';
import { JSON_BODY_ROUTE_CONFIG, MULTIPART_ROUTE_CONFIG } from '../common/http/json-body';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { Permission, RequirePermission } from '../ums-gateway';
import { AttachmentIdPipe } from './attachment-id.pipe';
import { type AttachmentDeleteBody, ATTACHMENT_SCHEMAS } from './attachment.schemas';
import { auditFactsOf, withAuditFacts } from './audit-facts';
import { contentDisposition } from './byte-range';
import type { AttachmentActor } from './use-cases/attachment-actor';
import { DeleteAttachment } from './use-cases/delete-attachment.use-case';
import { DownloadAttachment } from './use-cases/download-attachment.use-case';
import { ListAttachments } from './use-cases/list-attachments.use-case';
import { UploadAttachment, type UploadPart } from './use-cases/upload-attachment.use-case';

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description: 'The lab to act in; default: your first active membership.',
});
const CASE_ID = ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } });
const ATTACHMENT_ID = ApiParam({
  name: 'attachment_id',
  schema: { type: 'string', format: 'uuid' },
});

const BINARY = { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };

/** At most this many parts in an upload: the file, kind, sha256 and a little slack for a clear 400. */
const MULTIPART_LIMITS = { files: 2, fields: 4, parts: 6, fieldSize: 1024, headerPairs: 50 };

function actorOf(a: CaseActor): AttachmentActor {
  return { userId: a.userId, labId: a.labId, requestId: a.requestId ?? '' };
}

/**
 * The attachment routes of a case. Permissions reuse the case catalogue:
 * whoever may read a case may list and download its attachments
 * (case:read, viewers up); whoever may edit it may upload and delete them
 * (case:update, members up). Uploads and deletes are audited in their own
 * transaction; every list and download is an audited disclosure.
 */
@ApiTags('attachments')
@ApiBearerAuth()
@Controller('api/v1/cases/:id/attachments')
export class AttachmentsController {
  constructor(
    private readonly uploads: UploadAttachment,
    private readonly lists: ListAttachments,
    private readonly downloads: DownloadAttachment,
    private readonly deletes: DeleteAttachment,
  ) {}

  @Post()
  @HttpCode(201)
  @RequirePermission(Permission.CaseUpdate)
  @Audited(
    {
      resourceType: 'attachment',
      caseIdParam: 'id',
      interaction: 'create',
      mode: 'transactional',
      successStatus: 201,
    },
    { [MULTIPART_ROUTE_CONFIG]: true },
  )
  @ApiOperation({
    summary: 'Upload an attachment (streamed multipart)',
    description:
      'One file in the part `file`, optional `kind` and `sha256`. The type is sniffed from the bytes and must be allowed (ATTACHMENT_ALLOWED_TYPES), else 415; over ATTACHMENT_MAX_BYTES is 413 as soon as it is passed; a wrong checksum is 422. Nothing is stored of a refused or aborted upload.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { $ref: '#/components/schemas/AttachmentUpload' } })
  @LAB_HEADER
  @CASE_ID
  @ApiOk('Attachment', 201, 'Stored; the metadata of the attachment')
  @ApiErrors(400, 401, 403, 404, 409, 413, 415, 422, 503)
  async upload(
    @Actor() actor: CaseActor,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) caseId: number,
  ) {
    const gone = new AbortController();
    const onClose = (): void => {
      if (!res.raw.writableEnded) gone.abort();
    };
    res.raw.once('close', onClose);
    try {
      const created = await this.uploads.run(actorOf(actor), caseId, {
        parts: (limits) =>
          req.parts({ limits: { ...MULTIPART_LIMITS, ...limits } }) as AsyncIterable<UploadPart>,
        headers: req.headers,
        signal: gone.signal,
      });
      void res.header('location', `/api/v1/cases/${caseId}/attachments/${created.id}/content`);
      return created;
    } catch (err) {
      // The rest of a refused upload is not read: the connection closes after the answer.
      void res.header('connection', 'close');
      throw err;
    } finally {
      res.raw.off('close', onClose);
    }
  }

  @Get()
  @RequirePermission(Permission.CaseRead)
  @Audited({
    resourceType: 'attachment',
    caseIdParam: 'id',
    interaction: 'search',
    mode: 'read',
    subjects: auditFactsOf,
  })
  @ApiOperation({ summary: "List a case's attachments (metadata only)" })
  @LAB_HEADER
  @CASE_ID
  @ApiOk('AttachmentList')
  @ApiErrors(401, 403, 404, 503)
  list(@Actor() actor: CaseActor, @Param('id', CaseIdPipe) caseId: number) {
    return this.lists.run(actorOf(actor), caseId);
  }

  @Get(':attachment_id/content')
  @RequirePermission(Permission.CaseRead)
  @Audited({
    resourceType: 'attachment',
    caseIdParam: 'id',
    interaction: 'read',
    mode: 'read',
    idParam: 'attachment_id',
    subjects: auditFactsOf,
  })
  @ApiOperation({
    summary: "Download an attachment's bytes (streamed; Range supported)",
    description:
      'The file as stored, with Content-Disposition, ETag (its SHA-256) and Accept-Ranges. One `Range: bytes=…` is answered 206; beyond the end, 416.',
  })
  @LAB_HEADER
  @CASE_ID
  @ATTACHMENT_ID
  @ApiHeader({
    name: 'Range',
    required: false,
    description: 'One byte range, e.g. `bytes=0-1023`.',
  })
  @ApiResponse({ status: 200, description: 'The whole file', content: BINARY })
  @ApiResponse({ status: 206, description: 'The requested range', content: BINARY })
  @ApiErrors(401, 403, 404, 416, 500, 503)
  async content(
    @Actor() actor: CaseActor,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) caseId: number,
    @Param('attachment_id', AttachmentIdPipe) attachmentId: string,
  ) {
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    const c = await this.downloads.run(
      actorOf(actor),
      caseId,
      attachmentId,
      typeof range === 'string' ? range : undefined,
      typeof ifRange === 'string' ? ifRange : undefined,
    );
    void res.headers({
      'content-type': c.contentType,
      'content-disposition': contentDisposition(c.filename),
      'content-length': String(c.length),
      etag: c.etag,
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-store',
    });
    if (c.range) {
      void res
        .status(206)
        .header('content-range', `bytes ${c.range.start}-${c.range.end}/${c.size}`);
    }
    return withAuditFacts(new StreamableFile(c.stream), c.audit);
  }

  @Delete(':attachment_id')
  @HttpCode(204)
  @RequirePermission(Permission.CaseUpdate)
  @Audited(
    {
      resourceType: 'attachment',
      caseIdParam: 'id',
      interaction: 'delete',
      mode: 'transactional',
      idParam: 'attachment_id',
      successStatus: 204,
    },
    { [JSON_BODY_ROUTE_CONFIG]: true },
  )
  @ApiOperation({
    summary: 'Delete an attachment (soft, with a reason)',
    description:
      'The attachment leaves the list and its content is 404; row and bytes stay until the case is purged by retention.',
  })
  @LAB_HEADER
  @CASE_ID
  @ATTACHMENT_ID
  @ApiJsonBody('AttachmentDelete')
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(400, 401, 403, 404, 415, 503)
  async remove(
    @Actor() actor: CaseActor,
    @Param('id', CaseIdPipe) caseId: number,
    @Param('attachment_id', AttachmentIdPipe) attachmentId: string,
    @Body(new SchemaPipe(ATTACHMENT_SCHEMAS, 'AttachmentDelete')) body: AttachmentDeleteBody,
  ): Promise<void> {
    await this.deletes.run(actorOf(actor), caseId, attachmentId, body.reason);
  }
}
