import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import type { Stack } from '@lhcms/testing';
import { PhiCipher } from '../../apps/api/src/encryption';
import { newWebhookSecret, WEBHOOK_SECRET_BINDING } from '../../apps/api/src/webhooks';

/** One request a test receiver got. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; case_id: number; seq: number; [k: string]: unknown };
  at: number;
}

/** What the receiver answers: a status (and the default body), or it handles the response itself. */
export type Behaviour = (
  r: Received,
  res: http.ServerResponse,
  n: number,
) => number | 'handled' | Promise<number | 'handled'>;

/**
 * A real webhook receiver over HTTP on 127.0.0.1: records every request
 * (headers, raw body) and answers as `behaviour` says (200 by default).
 * `inFlight` counts requests being answered per event id (a concurrent
 * double-send shows as 2).
 */
export class Receiver {
  readonly got: Received[] = [];
  /** The most requests of one event id being handled at the same moment. */
  maxConcurrentPerEvent = 0;
  behaviour: Behaviour = () => 200;
  private readonly open = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  url = '';

  static async start(behaviour?: Behaviour): Promise<Receiver> {
    const r = new Receiver();
    if (behaviour) r.behaviour = behaviour;
    await r.listen();
    return r;
  }

  async listen(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let event: Received['event'];
    try {
      event = JSON.parse(body) as Received['event'];
    } catch {
      res.writeHead(400).end();
      return;
    }
    const r: Received = {
      id: String(req.headers['webhook-id']),
      timestamp: String(req.headers['webhook-timestamp']),
      signature: String(req.headers['webhook-signature']),
      headers: req.headers,
      body,
      event,
      at: Date.now(),
    };
    this.got.push(r);
    const now = (this.open.get(r.id) ?? 0) + 1;
    this.open.set(r.id, now);
    this.maxConcurrentPerEvent = Math.max(this.maxConcurrentPerEvent, now);
    res.once('close', () => this.open.set(r.id, (this.open.get(r.id) ?? 1) - 1));
    const n = this.got.filter((g) => g.id === r.id).length;
    const answer = await this.behaviour(r, res, n);
    if (answer !== 'handled') res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
  }

  /** Stops listening and drops every connection (held requests included). */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Events received for one case, in arrival order. */
  ofCase(caseId: number): Received[] {
    return this.got.filter((g) => g.event.case_id === caseId);
  }

  countById(): Map<string, number> {
    const m = new Map<string, number>();
    for (const g of this.got) m.set(g.id, (m.get(g.id) ?? 0) + 1);
    return m;
  }
}

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function newSecret(): string {
  return newWebhookSecret();
}

/** Verifies a received delivery as a receiver would, with the `standardwebhooks` package. */
export function verify(secret: string, r: Received): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': r.id,
    'webhook-timestamp': r.timestamp,
    'webhook-signature': r.signature,
  });
}

export interface SubscriptionOptions {
  events?: string[];
  secret?: string;
  previousSecret?: string;
  previousExpiresAt?: Date;
  active?: boolean;
}

/**
 * A subscription inserted as the database owner (independent of the
 * subscriptions API), its secrets encrypted as the contract says.
 */
export async function subscribe(
  owner: Client,
  cipher: PhiCipher,
  labId: string | number,
  url: string,
  o: SubscriptionOptions = {},
): Promise<{ id: string; secret: string }> {
  const lab = String(labId);
  const secret = o.secret ?? newSecret();
  const enc = await cipher.encryptText(lab, WEBHOOK_SECRET_BINDING, secret);
  const prev = o.previousSecret
    ? await cipher.encryptText(lab, WEBHOOK_SECRET_BINDING, o.previousSecret)
    : null;
  const r = await owner.query<{ id: string }>(
    `INSERT INTO webhook_subscriptions (lab_id, url, events, active, secret, previous_secret,
       previous_secret_expires_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'test') RETURNING id::text`,
    [
      lab,
      url,
      o.events ?? [
        'case.created',
        'case.updated',
        'case.status_changed',
        'case.stage_changed',
        'case.due_date_changed',
        'case.deleted',
      ],
      o.active ?? true,
      enc,
      prev,
      o.previousSecret ? (o.previousExpiresAt ?? new Date(Date.now() + 86_400_000)) : null,
    ],
  );
  return { id: r.rows[0].id, secret };
}

export function cipherOf(s: Stack): PhiCipher {
  return s.api.app.get(PhiCipher, { strict: false });
}

/** A case over HTTP (as `user` of lab 1 by default); its id. */
export async function createCase(
  call: (
    path: string,
    init: { method: string; body?: unknown },
  ) => Promise<{ status: number; body: any; text: string }>,
  tag = 'WH',
): Promise<number> {
  const res = await call('/api/v1/cases/', {
    method: 'POST',
    body: {
      doctor_id: 'wh-doc',
      product_id: 'p',
      case_type: 'other',
      patient_info: { patient_id: `${tag}-PATIENT` },
    },
  });
  if (res.status !== 201) throw new Error(`case create failed: ${res.status} ${res.text}`);
  return res.body.id as number;
}

/** Status changes a fresh case can make one after the other (a case.status_changed each). */
export const STATUS_WALK: ReadonlyArray<{ status: string; reason?: string }> = [
  { status: 'in_progress' },
  { status: 'on_hold', reason: 'waiting for the impression' },
  { status: 'in_progress' },
  { status: 'completed' },
];

/** Walks a case through STATUS_WALK (the first `steps` changes). */
export async function walkCase(
  call: (
    path: string,
    init: { method: string; body?: unknown },
  ) => Promise<{ status: number; text: string }>,
  caseId: number,
  steps = STATUS_WALK.length,
): Promise<void> {
  for (const step of STATUS_WALK.slice(0, steps)) {
    const res = await call(`/api/v1/cases/${caseId}/status`, { method: 'PATCH', body: step });
    if (res.status !== 200) throw new Error(`status change failed: ${res.status} ${res.text}`);
  }
}
