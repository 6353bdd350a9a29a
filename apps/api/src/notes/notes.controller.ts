import {
  Body,
  Controller,
  Delete,
  Get,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SchemaPipe } from '../common/validation/schema.pipe';
import { CaseIdPipe } from '../case-model';
import { CaseOperationsInterceptor, CaseRoute, IfMatch, type WriteOptions } from '../cases';
import { Permission } from '../ums-gateway';
import { type NoteResponse, noteEtag } from './dto/note.response';
import { parseNoteListQuery } from './dto/note-query';
import {
  NOTE_SCHEMAS,
  type NoteDeleteBody,
  type NoteInputBody,
  type NoteUpdateBody,
} from './dto/note.schemas';
import {
  NOTE_LIST_AUDITED_QUERY,
  NOTE_ROUTE_DOCS as DOCS,
  noteHistory,
  notePage,
  oneNote,
} from './note-route-docs';
import { NoteActor, NoteIdPipe } from './note-params';
import { NotesError } from './notes.errors';
import {
  CreateNote,
  DeleteNote,
  type NoteActor as Actor,
  ReadNotes,
  UpdateNote,
} from './use-cases';

function withEtag(res: FastifyReply, n: NoteResponse): NoteResponse {
  void res.header('etag', noteEtag(n.revision));
  return n;
}

/** Audit of the routes on a case's note collection: the case is the resource (a foreign case is a cross-lab attempt). */
const ON_CASE = { resourceType: 'case', idParam: 'id' } as const;
/** Audit of the routes on one note (a foreign case id still reaches the owning lab's trail). */
const ON_NOTE = { resourceType: 'case_note', idParam: 'note_id', caseIdParam: 'id' } as const;

/**
 * The notes of a case (issue 20): `/api/v1/cases/{id}/notes`. Viewers read,
 * members write and change their own notes, admins change anyone's and read
 * a note's history. Every route is audited; the texts are PHI.
 */
@ApiTags('notes')
@Controller('api/v1/cases/:id/notes')
@UseInterceptors(CaseOperationsInterceptor)
export class NotesController {
  constructor(
    private readonly reads: ReadNotes,
    private readonly creates: CreateNote,
    private readonly updates: UpdateNote,
    private readonly deletes: DeleteNote,
  ) {}

  @Get()
  @CaseRoute({
    permission: Permission.NoteRead,
    operation: 'note_list',
    id: true,
    audit: {
      ...ON_CASE,
      interaction: 'search',
      mode: 'read',
      queryParams: NOTE_LIST_AUDITED_QUERY,
      subjects: notePage,
    },
    docs: DOCS.list,
  })
  list(
    @NoteActor() actor: Actor,
    @Param('id', CaseIdPipe) caseId: number,
    @Query() query: Record<string, unknown>,
  ) {
    const parsed = parseNoteListQuery(query, this.reads.pageDefaults);
    if ('errors' in parsed) throw NotesError.invalidQuery(parsed.errors);
    return this.reads.list(actor, caseId, parsed.ok);
  }

  @Post()
  @CaseRoute({
    permission: Permission.NoteWrite,
    operation: 'note_create',
    status: 201,
    id: true,
    body: 'NoteInput',
    audit: { ...ON_CASE, interaction: 'create', mode: 'transactional' },
    docs: DOCS.create,
  })
  async create(
    @NoteActor() actor: Actor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) caseId: number,
    @Body(new SchemaPipe(NOTE_SCHEMAS, 'NoteInput')) body: NoteInputBody,
  ) {
    const note = await this.creates.run(actor, caseId, body);
    void res.header('location', `/api/v1/cases/${caseId}/notes/${note.id}`);
    return withEtag(res, note);
  }

  @Get(':note_id')
  @CaseRoute({
    permission: Permission.NoteRead,
    operation: 'note_read',
    id: true,
    audit: { ...ON_NOTE, interaction: 'read', mode: 'read', subjects: oneNote },
    docs: DOCS.get,
  })
  async get(
    @NoteActor() actor: Actor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) caseId: number,
    @Param('note_id', NoteIdPipe) noteId: number,
  ) {
    return withEtag(res, await this.reads.get(actor, caseId, noteId));
  }

  @Get(':note_id/revisions')
  @CaseRoute({
    permission: Permission.NoteModerate,
    operation: 'note_revisions',
    id: true,
    audit: { ...ON_NOTE, interaction: 'read', mode: 'read', subjects: noteHistory },
    docs: DOCS.history,
  })
  history(
    @NoteActor() actor: Actor,
    @Param('id', CaseIdPipe) caseId: number,
    @Param('note_id', NoteIdPipe) noteId: number,
  ) {
    return this.reads.history(actor, caseId, noteId);
  }

  @Put(':note_id')
  @CaseRoute({
    permission: Permission.NoteWrite,
    operation: 'note_update',
    id: true,
    body: 'NoteUpdate',
    audit: { ...ON_NOTE, interaction: 'update', mode: 'transactional' },
    docs: DOCS.update,
  })
  async update(
    @NoteActor() actor: Actor,
    @Res({ passthrough: true }) res: FastifyReply,
    @Param('id', CaseIdPipe) caseId: number,
    @Param('note_id', NoteIdPipe) noteId: number,
    @Body(new SchemaPipe(NOTE_SCHEMAS, 'NoteUpdate')) body: NoteUpdateBody,
    @IfMatch() opts: WriteOptions,
  ) {
    return withEtag(res, await this.updates.run(actor, caseId, noteId, body, opts));
  }

  @Delete(':note_id')
  @CaseRoute({
    permission: Permission.NoteWrite,
    operation: 'note_delete',
    status: 204,
    id: true,
    body: 'NoteDelete',
    audit: { ...ON_NOTE, interaction: 'delete', mode: 'transactional' },
    docs: DOCS.remove,
  })
  async remove(
    @NoteActor() actor: Actor,
    @Param('id', CaseIdPipe) caseId: number,
    @Param('note_id', NoteIdPipe) noteId: number,
    @Body(new SchemaPipe(NOTE_SCHEMAS, 'NoteDelete')) body: NoteDeleteBody,
    @IfMatch() opts: WriteOptions,
  ): Promise<void> {
    await this.deletes.run(actor, caseId, noteId, body.reason, opts);
  }
}
