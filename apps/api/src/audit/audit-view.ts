import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { deriveKey } from '@lhcms/crypto';
import type { AuditCursor } from './audit-review.repository';

const IV = 12;
const TAG = 16;

/**
 * What a lab admin sees of where an event sits in the shared trail: nothing
 * (ADR "tenant-safe audit views"). `seq` and the chain position are global
 * counters, so the review API never shows them: an event's `id` is a keyed
 * digest of its seq (stable, not ordered, not countable) and a page cursor is
 * the boundary encrypted and bound to the lab (AES-256-GCM), opaque to the
 * client. Operators keep seq and positions (`lhcms audit verify`, SQL).
 */
@Injectable()
export class AuditViewCodec {
  private readonly idKey: Buffer;
  private readonly cursorKey: Buffer;

  constructor(@Inject(Env) env: Env) {
    // No SECRET_KEY (audit disabled, development): a key of this process; ids are then stable until a restart.
    const root = env.SECRET_KEY ? deriveKey(env.SECRET_KEY, 'audit-view') : randomBytes(32);
    this.idKey = createHmac('sha256', root).update('event-id').digest();
    this.cursorKey = createHmac('sha256', root).update('cursor').digest();
  }

  /** The public id of an event: 32 hex digits (a valid FHIR id), the same on every read. */
  eventId(seq: string): string {
    return createHmac('sha256', this.idKey).update(seq).digest('hex').slice(0, 32);
  }

  encodeCursor(labId: string, c: AuditCursor): string {
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.cursorKey, iv);
    cipher.setAAD(Buffer.from(labId, 'utf8'));
    const body = Buffer.concat([cipher.update(`${c.occurredAt}|${c.seq}`, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The boundary of a cursor this API issued to this lab; undefined for anything else. */
  decodeCursor(labId: string, s: string): AuditCursor | undefined {
    if (!/^[A-Za-z0-9_-]{40,200}$/.test(s)) return undefined;
    const raw = Buffer.from(s, 'base64url');
    if (raw.length <= IV + TAG) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.cursorKey, raw.subarray(0, IV));
      decipher.setAAD(Buffer.from(labId, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG));
      const text = Buffer.concat([
        decipher.update(raw.subarray(IV, raw.length - TAG)),
        decipher.final(),
      ]).toString('utf8');
      const [occurredAt, seq] = text.split('|');
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(occurredAt ?? '')) return undefined;
      if (!/^\d{1,19}$/.test(seq ?? '')) return undefined;
      return { occurredAt, seq };
    } catch {
      return undefined;
    }
  }
}
