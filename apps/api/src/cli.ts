import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { ConfigError, loadEnv } from '@lhcms/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions, revertLastMigration, runMigrations } from '@lhcms/database';
import { createObjectStore } from '@lhcms/storage';
import { attachmentsFsck } from './attachments';
import { purgeExpiredCases } from './cases';
import { rotateKeys } from './encryption';
import { outboxBacklog, pruneOutbox } from './events';
import { auditPurge, auditSeal, auditVerify, describeReport } from './audit';

/**
 * `lhcms` — the operations CLI (`node dist/apps/api/src/cli.js <command>`;
 * `npx lhcms <command>`). Connects as the owner role (DATABASE_OWNER_URL,
 * else DATABASE_URL). Commands:
 *
 *   migrate [run]     apply pending migrations (the Helm migration Job runs this)
 *   migrate revert    revert the last migration
 *   migrate show      list migrations and whether they are applied
 *   keys rotate [--new-data-keys] [--reencrypt]
 *                     re-wrap every lab data key under the current key-encryption
 *                     key; optionally add a new data key per lab and re-encrypt
 *                     every case's PHI, timeline reasons, notes and attachment
 *                     filenames under it (also encrypts legacy plaintext)
 *   retention purge [--dry-run]
 *                     remove cases past DATA_RETENTION_DAYS (deleted, or closed and
 *                     untouched since) with their timelines and attachments (rows
 *                     and stored objects); audited with counts
 *   attachments fsck [--fix] [--settle-seconds=N]
 *                     compare the attachment store with the attachments table:
 *                     report objects without a row (removed with --fix, after
 *                     looking again N seconds later, default 60) and rows
 *                     without an object (flagged, never changed)
 *   audit verify [--json]   walk the audit hash chain and the signed checkpoints:
 *                     "intact" (exit 0) or the first row altered, deleted,
 *                     inserted or reordered (exit 1)
 *   audit seal        link every sealable audit event into the chain now and
 *                     write a signed checkpoint
 *   outbox prune --older-than-days N [--dry-run]
 *                     delete case events dispatched more than N days ago
 *                     (undispatched events are never pruned)
 *   outbox status     undispatched case events and the age of the oldest
 *   audit purge [--dry-run]  delete audit rows past retention (never younger
 *                     than 6 years), cut at a checkpoint; itself audited
 */
type Command = (args: string[]) => Promise<number>;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

const commands: Record<string, Command> = {
  async retention([sub, ...flags]) {
    if (sub !== 'purge') {
      out('usage: lhcms retention purge [--dry-run]');
      return 2;
    }
    const env = loadEnv();
    const r = await purgeExpiredCases(env, {
      dryRun: flags.includes('--dry-run'),
      objects: createObjectStore(env),
    });
    out(
      `${r.dryRun ? 'would purge' : 'purged'} ${r.cases} cases (${r.events} timeline events, ${r.attachments} attachments) past ${r.cutoff}, and ${r.idempotencyKeys} idempotency keys`,
    );
    if (r.objectsLeft > 0) {
      out(
        `${r.objectsLeft} attachment objects could not be removed: run lhcms attachments fsck --fix`,
      );
    }
    return 0;
  },

  async attachments([sub, ...flags]) {
    if (sub !== 'fsck') {
      out('usage: lhcms attachments fsck [--fix] [--settle-seconds=N]');
      return 2;
    }
    const env = loadEnv();
    const settle = flags.find((f) => f.startsWith('--settle-seconds='));
    const settleSeconds = settle ? Number(settle.split('=')[1]) : 60;
    if (!Number.isInteger(settleSeconds) || settleSeconds < 0) {
      out('--settle-seconds must be a whole number of seconds');
      return 2;
    }
    const fix = flags.includes('--fix');
    const r = await attachmentsFsck(env, createObjectStore(env), {
      fix,
      settleMs: settleSeconds * 1000,
    });
    out(`${r.rows} attachment rows, ${r.objects} stored objects`);
    out(
      `${r.orphans.length} objects without a row${fix ? `, ${r.removed} removed` : ' (remove with --fix)'}`,
    );
    for (const k of r.orphans) out(`  orphan object ${k}`);
    out(`${r.missing.length} rows without an object`);
    for (const m of r.missing) {
      out(`  missing object: attachment ${m.attachment_id} of case ${m.case_id} (lab ${m.lab_id})`);
    }
    return r.missing.length > 0 ? 1 : 0;
  },

  async outbox([sub, ...flags]) {
    const env = loadEnv();
    switch (sub) {
      case 'prune': {
        const i = flags.indexOf('--older-than-days');
        const raw =
          i >= 0
            ? flags[i + 1]
            : flags.find((f) => f.startsWith('--older-than-days='))?.split('=')[1];
        const days = raw !== undefined && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
        if (!Number.isInteger(days)) {
          out(
            'usage: lhcms outbox prune --older-than-days N [--dry-run] (N: whole days, 0 or more)',
          );
          return 2;
        }
        const r = await pruneOutbox(env, days, { dryRun: flags.includes('--dry-run') });
        out(
          `${r.dryRun ? 'would prune' : 'pruned'} ${r.events} dispatched events older than ${r.cutoff}`,
        );
        return 0;
      }
      case 'status': {
        const b = await outboxBacklog(env);
        out(
          `${b.undispatched} undispatched events; oldest ${Math.round(b.oldestAgeSeconds)} s old`,
        );
        return 0;
      }
      default:
        out('usage: lhcms outbox prune --older-than-days N [--dry-run] | lhcms outbox status');
        return 2;
    }
  },

  async keys([sub, ...flags]) {
    if (sub !== 'rotate') {
      out('usage: lhcms keys rotate [--new-data-keys] [--reencrypt]');
      return 2;
    }
    const r = await rotateKeys(loadEnv(), {
      newDataKeys: flags.includes('--new-data-keys'),
      reencrypt: flags.includes('--reencrypt'),
    });
    out(
      `re-wrapped ${r.rewrapped} data keys, added ${r.newDataKeys}, re-encrypted ${r.reencryptedCases} cases and ${r.reencryptedTexts} other texts`,
    );
    return 0;
  },

  async migrate([sub = 'run']) {
    const env = loadEnv();
    switch (sub) {
      case 'run': {
        const applied = await runMigrations(env);
        out(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
        return 0;
      }
      case 'revert': {
        const name = await revertLastMigration(env);
        out(name ? `reverted: ${name}` : 'nothing to revert');
        return 0;
      }
      case 'show': {
        const ds = new DataSource(dataSourceOptions(env, 'owner', { poolMax: 1 }));
        await ds.initialize();
        try {
          const pending = await ds.showMigrations();
          out(pending ? 'pending migrations exist' : 'all migrations applied');
          return pending ? 3 : 0;
        } finally {
          await ds.destroy();
        }
      }
      default:
        out(`unknown: migrate ${sub} (run | revert | show)`);
        return 2;
    }
  },

  async audit([sub, ...flags]) {
    const env = loadEnv();
    switch (sub) {
      case 'verify': {
        const report = await auditVerify(env);
        out(flags.includes('--json') ? JSON.stringify(report) : describeReport(report));
        return report.status === 'intact' ? 0 : 1;
      }
      case 'seal': {
        const r = await auditSeal(env);
        out(`sealed ${r.sealed} events; chain head at position ${r.position}; checkpoint written`);
        return 0;
      }
      case 'purge': {
        const dryRun = flags.includes('--dry-run');
        const r = await auditPurge(env, dryRun);
        out(
          r.throughPosition === null
            ? `nothing to purge (retention cutoff ${r.cutoff})`
            : `${dryRun ? 'would purge' : 'purged'} ${r.events} audit events and ${r.chainEntries} chain entries through position ${r.throughPosition} (cutoff ${r.cutoff})`,
        );
        return 0;
      }
      default:
        out(`unknown: audit ${sub ?? ''} (verify | seal | purge)`);
        return 2;
    }
  },
};

async function main(argv: string[]): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const [name, ...args] = argv;
  const cmd = name ? commands[name] : undefined;
  if (!cmd) {
    out(`usage: lhcms <${Object.keys(commands).join(' | ')}> [args]`);
    return 2;
  }
  return cmd(args);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`lhcms: ${msg}\n`);
    process.exit(1);
  },
);
