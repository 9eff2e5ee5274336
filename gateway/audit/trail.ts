/**
 * @module audit/trail
 * What auditors, the command line and the hourly erasure may do with the trail: verify it
 * (archives included), search it, report throughput, read its head, erase the outcomes whose
 * date has come (FGMISQR009). Opens its own connection to whichever store the config names
 * (SQLite by default, PostgreSQL with `audit.postgresUrl`), so it never interferes with the writer.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/config.ts';
import { ukToday } from '@fgm-status/element/rules/age';
import { readAnchors } from './anchor.ts';
import { canonicalText } from './canonical.ts';
import type { AuditRow } from './chain.ts';
import { readRetentions, signedRetentions } from './chain-start.ts';
import { erasureCoverage } from './erasure-coverage.ts';
import type { ErasurePlan } from './erasure-record.ts';
import { eraseOutcomesSqlite } from './erasure.ts';
import {
  openAuditReader,
  searchAudit,
  throughputOn,
  type AuditSearch,
  type Throughput,
  type ThroughputScope,
} from './sqlite-store.ts';
import {
  belowRetention,
  chainWalk,
  incompleteRetention,
  withPending,
  newestAnchor,
  provenStart,
  TAIL_RECORDS,
  verifyAuditChain,
  verifyAuditTail,
  verifyTailRows,
  type VerifyOptions,
  type VerifyResult,
} from './verify.ts';
import { openDetail } from './sealed-detail.ts';

export interface AuditTrail {
  /** The whole chain, every retention record and its archive, every anchor, and (SQLite) the database's own integrity. */
  verify(): Promise<VerifyResult>;
  /** Cheap enough for start-up: the retention point, the newest records and the newest anchor only. */
  verifyTail(): Promise<VerifyResult>;
  /** Never returns a record at or below the retention point (only a forgery could be there); Spine's sealed detail is opened while its outcome is held. */
  search(q: AuditSearch): Promise<AuditRow[]>;
  /** One client's throughput at one organisation when `scope` is given, else the whole SMSP's. */
  throughput(date: string, scope?: ThroughputScope): Promise<Throughput>;
  /** The newest record's seq and hash (what an anchor signs), or undefined on an empty trail. */
  head(): Promise<{ seq: number; hash: string } | undefined>;
  /** Clears the outcome of every stored record due on or before `today` (UK date); returns their seqs. */
  eraseOutcomes(today: string, plan: ErasurePlan): Promise<number[]>;
  close(): Promise<void>;
}

/** `today` for verification: the injected clock's UK date where there is one. */
export async function openAuditTrail(
  config: GatewayConfig,
  hmacKey: Buffer,
  now: () => Date = () => new Date(),
): Promise<AuditTrail> {
  const { anchorDir, anchorPublicKeyFile } = config.audit;
  const options = (): VerifyOptions => ({
    anchors: anchorDir && existsSync(anchorDir) ? readAnchors(anchorDir) : [],
    publicKey: anchorPublicKeyFile ? readFileSync(anchorPublicKeyFile, 'utf8') : undefined,
    retentions: readRetentions(anchorDir),
    archiveDir: anchorDir,
    today: ukToday(now()),
  });
  // Only a signed retention record moves the point search starts after: an unsigned file naming a huge throughSeq must not hide the trail.
  const retentionPoint = () => signedRetentions(readRetentions(anchorDir), options().publicKey).at(-1)?.throughSeq ?? 0;
  // Search values in the stored canonical form: a lone surrogate or NUL finds what the writer stored for it (and PostgreSQL, which cannot hold NUL, never fails on one).
  const canon = (v: string | undefined) => (v === undefined ? undefined : canonicalText(v));
  const searchAbove = (q: AuditSearch): AuditSearch => ({
    ...q,
    userId: canon(q.userId),
    messageId: canon(q.messageId),
    nhsNumber: canon(q.nhsNumber),
    clientId: canon(q.clientId),
    orgCode: canon(q.orgCode),
    afterSeq: Math.max(q.afterSeq ?? 0, retentionPoint()),
  });
  if (config.audit.postgresUrl) return openPostgresTrail(config.audit.postgresUrl, hmacKey, options, searchAbove);
  const file = config.audit.sqliteFile!;
  const db = openAuditReader(file);
  return {
    verify: async () => verifyAuditChain(db, hmacKey, options()),
    verifyTail: async () => verifyAuditTail(db, hmacKey, options()),
    search: async (q) => searchAudit(db, searchAbove(q)).map((row) => openDetail(hmacKey, row)),
    throughput: async (date, scope) => throughputOn(db, date, scope),
    head: async () =>
      db.prepare('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1').get() as
        { seq: number; hash: string } | undefined,
    eraseOutcomes: async (today, plan) => eraseOutcomesSqlite(file, hmacKey, today, plan),
    close: async () => void db.close(),
  };
}

async function openPostgresTrail(
  url: string,
  hmacKey: Buffer,
  options: () => VerifyOptions,
  searchAbove: (q: AuditSearch) => AuditSearch,
): Promise<AuditTrail> {
  // Only a configured PostgreSQL store loads the driver.
  const { eraseOutcomesPostgres, postgresPool, postgresReader } = await import('./postgres-store.ts');
  const pool = postgresPool(url, 2);
  const reader = postgresReader(pool);
  return {
    async verify() {
      const o = options();
      const coverage = erasureCoverage(o.today);
      const start = provenStart(hmacKey, o, coverage);
      if ('ok' in start) return start;
      const lowest = await reader.lowestAtOrBelow(start.seq);
      const last = start.last;
      // Only the newest retention's range is read: a row below its first seq is no pending deletion
      // but a forgery, so then no rows are offered and belowRetention names the lowest, as on SQLite.
      const below =
        lowest === null || !last || lowest < last.firstSeq
          ? []
          : (await reader.page(last.firstSeq - 1, last.throughSeq - last.firstSeq + 2)).filter(
              (r) => r.seq <= start.seq,
            );
      const pending = lowest === null ? undefined : incompleteRetention(start, hmacKey, o.today!, { rows: below });
      const forged = pending ? undefined : belowRetention(start, lowest);
      if (forged) return forged;
      const kept = (o.anchors ?? []).filter((a) => a.seq > start.seq);
      const walk = chainWalk(hmacKey, kept.length > 0, start, o.today!, coverage);
      // Pages by seq: a trail of millions of records is never all in memory.
      for (let after = start.seq; ;) {
        const rows = await reader.page(after, 5000);
        for (const row of rows) {
          const broken = walk.step(row);
          if (broken) return broken;
        }
        if (rows.length < 5000) break;
        after = rows.at(-1)!.seq;
      }
      return withPending(walk.finish(kept, o.publicKey), pending);
    },
    async verifyTail() {
      const o = options();
      const start = provenStart(hmacKey, { ...o, archiveDir: undefined });
      if ('ok' in start) return start;
      const lowest = await reader.lowestAtOrBelow(start.seq);
      // Start-up stays cheap: the lowest seq and the hash at the retention point (no count query on PostgreSQL; the full verify proves every row).
      const last = start.last;
      const pending =
        lowest === null || !last
          ? undefined
          : incompleteRetention(start, hmacKey, o.today!, {
              lowest,
              count: last.throughSeq - last.firstSeq + 1,
              hashAtPoint: await reader.hashAt(start.seq),
            });
      const forged = pending ? undefined : belowRetention(start, lowest);
      if (forged) return forged;
      const newest = newestAnchor((o.anchors ?? []).filter((a) => a.seq > start.seq));
      const rows = (await reader.newest(TAIL_RECORDS)).filter((r) => r.seq > start.seq);
      return withPending(
        verifyTailRows(
          rows,
          hmacKey,
          start,
          newest,
          o.publicKey,
          newest && (await reader.hashAt(newest.seq)),
          o.today!,
        ),
        pending,
      );
    },
    search: async (q) => (await reader.search(searchAbove(q))).map((row) => openDetail(hmacKey, row)),
    throughput: (date, scope) => reader.throughput(date, scope),
    head: async () => (await reader.newest(1))[0],
    eraseOutcomes: (today, plan) => eraseOutcomesPostgres(pool, hmacKey, today, plan),
    close: () => pool.end(),
  };
}
