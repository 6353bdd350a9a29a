import { createParamDecorator, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClsServiceManager } from 'nestjs-cls';
import { type LhcmsStore, RequestContext } from '@lhcms/request-context';
import { isCaseId } from '../case-model';
import { Permission, roleAllows } from '../ums-gateway';
import { NotesError } from './notes.errors';
import type { NoteActor as NoteActorType } from './use-cases';

/** The caller as the note use cases see it: the principal and lab the guard resolved, and its role's reach. */
export const NoteActor = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): NoteActorType => {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const context = new RequestContext(ClsServiceManager.getClsService<LhcmsStore>());
    const lab = context.lab;
    return {
      userId: context.principal.userId,
      labId: lab.labId,
      canModerate: roleAllows(lab.role, Permission.NoteModerate),
      requestId: String(req.id),
    };
  },
);

/** `{note_id}` is a positive integer in the id range; anything else is a missing note (404). */
export class NoteIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!isCaseId(value)) throw NotesError.notFound();
    return Number(value);
  }
}
