/**
 * @module audit/cli
 * The audit trail from the command line, reading the gateway's own config exactly as `npm run gateway`
 * does (FGM_GATEWAY_CONFIG, else ./fgm-gateway.config.json), or the file `--config FILE` names:
 *   npm run audit:verify                       database integrity + retention records + archives + chain + anchors: "intact, N records" (exit 0) or the first problem, record or archive named (exit 1)
 *   npm run audit:anchor -- --key FILE [--out DIR]   sign the current head with an Ed25519 key the gateway never holds
 *   npm run audit:anchor -- --generate-key DIR       make that key pair
 *   npm run audit:throughput -- [YYYY-MM-DD]   daily total and peak hour (SMSP-PERF-002), no patient data
 *   node dist/gateway/audit/cli.js retain --key FILE [--owner-url URL]   archive (signed) and remove records older than audit.retentionDays (either store; PostgreSQL as the schema's owner)
 *   node dist/gateway/audit/cli.js erase-outcomes [--owner-url URL]   erase now the outcomes whose date has come, in the store and the archives, and record it (FGMISQR009); on PostgreSQL, --owner-url then VACUUMs the table as its owner
 *   node dist/gateway/audit/cli.js migrate-postgres [--owner-url URL] [--grant ROLE]   create/upgrade the PostgreSQL schema (as its owner), grant ROLE INSERT and SELECT; with --owner-url no gateway config is read
 *   node dist/gateway/audit/cli.js migrate-to-postgres [--from FILE] [--owner-url URL] [--grant ROLE]   copy a SQLite trail into an empty PostgreSQL one, chain unchanged, then verify it there
 * verify, anchor and throughput work on whichever store the config names.
 * Problems print one line and exit 2.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.ts';
import { readKeyMaterial } from '../server/key-material.ts';
import { isIsoDate, ukToday } from '@fgm-status/element/rules/age';
import { generateAnchorKeys, signAnchor, writeAnchor } from './anchor.ts';
import type { AuditRow } from './chain.ts';
import { anchorPublicKey, eraseDueOutcomes } from './erasure.ts';
import { retainPostgres, retainSqlite } from './retention.ts';
import { openAuditReader } from './sqlite-store.ts';
import { openAuditTrail } from './trail.ts';
import { describeVerify } from './verify.ts';

/**
 * The anchor key: `-` (or /dev/stdin) is read from file descriptor 0, so root can hand a root-only
 * key to a job run as the gateway's user (`sudo -u … cli.js anchor --key - < key`): opening
 * /dev/stdin by name checks the pipe's or file's owner again, as the new user, and fails (EACCES).
 */
const readKey = (key: string) => readFileSync(key === '-' || key === '/dev/stdin' ? 0 : key, 'utf8');

/** Creates or upgrades the PostgreSQL schema as its owner and grants `grant` INSERT and SELECT only. */
async function migrate(url: string, grant: string | undefined): Promise<number> {
  const { migratePostgres, ownerPostgresPool } = await import('./postgres-store.ts');
  const pool = ownerPostgresPool(url);
  const applied = await migratePostgres(pool, grant).finally(() => pool.end());
  console.log(
    `audit schema ${applied.length ? `migrated: versions ${applied.join(', ')} applied` : 'already current'}${grant ? `; ${grant} may INSERT and SELECT` : ''}`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      'generate-key': { type: 'string' },
      'owner-url': { type: 'string' },
      grant: { type: 'string' },
      from: { type: 'string' },
    },
  });
  if (command === 'anchor' && values['generate-key']) {
    const keys = generateAnchorKeys(values['generate-key']);
    console.log(
      `private key ${keys.privateKeyFile} (keep it away from the gateway); public key ${keys.publicKeyFile} (audit.anchorPublicKeyFile)`,
    );
    return 0;
  }
  // The owner creating the schema on a database host needs no gateway config, only the owner's URL.
  const config =
    command === 'migrate-postgres' && values['owner-url'] ? undefined : loadConfig(values.config, '--config');
  if (!config) return migrate(values['owner-url']!, values.grant);
  const hmacKey = () => readKeyMaterial(config).hmacKey;
  switch (command) {
    case 'verify': {
      const trail = await openAuditTrail(config, hmacKey());
      const result = await trail.verify().finally(() => trail.close());
      console.log(describeVerify(result));
      return result.ok ? 0 : 1;
    }
    case 'anchor': {
      if (!values.key) throw new Error('anchor needs --key <Ed25519 private key PEM>');
      const out = values.out ?? config.audit.anchorDir;
      if (!out) throw new Error('anchor needs --out <dir> or audit.anchorDir in the config');
      const trail = await openAuditTrail(config, hmacKey());
      const head = await trail.head().finally(() => trail.close());
      if (!head) throw new Error('the audit trail is empty: nothing to anchor');
      console.log(`anchored record ${head.seq}: ${writeAnchor(out, signAnchor(head, readKey(values.key)))}`);
      return 0;
    }
    case 'throughput': {
      const date = positionals[0] ?? ukToday();
      if (!isIsoDate(date)) throw new Error(`throughput: "${date}" is not a YYYY-MM-DD date`);
      const trail = await openAuditTrail(config, hmacKey());
      const t = await trail.throughput(date).finally(() => trail.close());
      console.log(`${t.date}: ${t.total} requests; peak hour ${t.peakHour ?? '-'}:00 UK time with ${t.peakHourCount}`);
      return 0;
    }
    case 'retain': {
      const { retentionDays, sqliteFile, postgresUrl, anchorDir, anchorPublicKeyFile } = config.audit;
      if (!values.key || !anchorDir || !anchorPublicKeyFile)
        throw new Error('retain needs --key <anchor private key>, audit.anchorDir and audit.anchorPublicKeyFile');
      const before = new Date(Date.now() - retentionDays * 86_400_000);
      const o = {
        before,
        privateKey: readKey(values.key),
        publicKey: readFileSync(anchorPublicKeyFile, 'utf8'),
        dir: anchorDir,
      };
      let r: Awaited<ReturnType<typeof retainPostgres>>;
      if (postgresUrl) {
        // audit_retain is the schema owner's alone: the gateway's role cannot delete.
        const { ownerPostgresPool } = await import('./postgres-store.ts');
        const owner = ownerPostgresPool(values['owner-url'] ?? postgresUrl);
        const trail = await openAuditTrail(config, hmacKey());
        try {
          r = await retainPostgres(owner, () => trail.verify(), o);
        } finally {
          await trail.close();
          await owner.end();
        }
      } else {
        r = retainSqlite(sqliteFile!, hmacKey(), o);
      }
      if (r.completed)
        console.log(
          `completed the interrupted retention of records ${r.retention!.firstSeq}-${r.retention!.throughSeq}: removed the ${r.removed} records its signed archive holds; run retain again for anything newer`,
        );
      else
        console.log(
          r.retention
            ? `archived and removed records ${r.retention.firstSeq}-${r.retention.throughSeq} (older than ${before.toISOString()}): ${r.retention.archive}`
            : `nothing older than ${before.toISOString()} to remove`,
        );
      return 0;
    }
    case 'erase-outcomes': {
      // The hourly task's run, by hand: the store, the archives, and the erasure's own record.
      const trail = await openAuditTrail(config, hmacKey());
      // On PostgreSQL, as the gateway's role but without its pool's 5 s query deadline: a backlog takes as long as it takes, and the operator is watching.
      const postgres = config.audit.postgresUrl ? await import('./postgres-store.ts') : undefined;
      const pool = postgres?.ownerPostgresPool(config.audit.postgresUrl!);
      const eraseStore: Parameters<typeof eraseDueOutcomes>[0]['eraseStore'] = pool
        ? (today, plan) => postgres!.eraseOutcomesPostgres(pool, hmacKey(), today, plan)
        : (today, plan) => trail.eraseOutcomes(today, plan);
      try {
        const run = await eraseDueOutcomes({
          eraseStore,
          archiveDir: config.audit.anchorDir,
          publicKey: anchorPublicKey(config),
          onArchiveFailure: (archive, e) =>
            console.error(
              `could not erase inside archive ${archive} (${(e as NodeJS.ErrnoException).code ?? e.name}): run erase-outcomes again once it is readable and writable`,
            ),
          now: new Date(),
          orgCode: config.smsp.odsCode,
          requestId: randomUUID(),
        });
        console.log(
          `erased the outcome of ${run.records} records, and of ${run.archives.reduce((n, a) => n + a.records, 0)} archived records, due on or before ${run.through}`,
        );
        if (config.audit.postgresUrl && values['owner-url']) {
          // The cleared values leave PostgreSQL's pages only when the owner vacuums (docs/audit.md, "Erased values on disk").
          const { ownerPostgresPool, vacuumAuditTable } = await import('./postgres-store.ts');
          const owner = ownerPostgresPool(values['owner-url']);
          await vacuumAuditTable(owner).finally(() => owner.end());
          console.log('vacuumed audit_event: the erased values left its pages');
        }
      } finally {
        await pool?.end();
        await trail.close();
      }
      return 0;
    }
    case 'migrate-postgres': {
      // The schema's owner applies the migrations and grants the gateway's role INSERT and SELECT only.
      const url = config.audit.postgresUrl;
      if (!url)
        throw new Error(
          'migrate-postgres needs --owner-url <postgres://owner@host/db> or audit.postgresUrl in the config',
        );
      return migrate(url, values.grant);
    }
    case 'migrate-to-postgres': {
      // Copies the SQLite trail unchanged (seq, prevHash, hash), then verifies it where it now lives.
      const from = values.from ?? config.audit.sqliteFile;
      if (!from || !config.audit.postgresUrl)
        throw new Error(
          'migrate-to-postgres needs audit.postgresUrl in the config and the SQLite trail (audit.sqliteFile or --from FILE)',
        );
      const { copyTrailToPostgres, migratePostgres, ownerPostgresPool } = await import('./postgres-store.ts');
      const pool = ownerPostgresPool(values['owner-url'] ?? config.audit.postgresUrl);
      const db = openAuditReader(from);
      const rows = db.prepare('SELECT * FROM audit_event ORDER BY seq').iterate() as IterableIterator<AuditRow>;
      let copied: number;
      try {
        await migratePostgres(pool, values.grant).catch(() => {}); // a restricted role copies into a schema its owner made
        copied = await copyTrailToPostgres(pool, rows);
      } finally {
        rows.return?.();
        db.close();
        await pool.end();
      }
      const trail = await openAuditTrail(config, hmacKey());
      const result = await trail.verify().finally(() => trail.close());
      console.log(`copied ${copied} records from ${from}; PostgreSQL trail ${describeVerify(result)}`);
      return result.ok ? 0 : 1;
    }
    default:
      throw new Error(
        'usage: audit [--config FILE] verify | anchor --key FILE [--out DIR] | anchor --generate-key DIR | throughput [YYYY-MM-DD] | retain --key FILE [--owner-url URL] | erase-outcomes [--owner-url URL] | migrate-postgres [--owner-url URL] [--grant ROLE] | migrate-to-postgres [--from FILE] [--owner-url URL]',
      );
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`audit: ${(e as Error).message.split('\n')[0]}`);
  process.exitCode = 2;
}
