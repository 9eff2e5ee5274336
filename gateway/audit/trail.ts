/**
 * @module audit/trail
 * What auditors and the command line may do with the trail: verify it, search it, report
 * throughput, read its head. Opens its own read-only connection to whichever store the config
 * names (SQLite by default, PostgreSQL with `audit.postgresUrl`), so it never interferes with the writer.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config.ts';
import { readAnchors } from './anchor.ts';
import type { AuditRow } from './chain.ts';
import { openAuditReader, searchAudit, throughputOn, type AuditSearch, type Throughput, type ThroughputScope } from './sqlite-store.ts';
import { readRetention } from './retention.ts';
import { chainWalk, newestAnchor, TAIL_RECORDS, verifyAuditChain, verifyAuditTail, verifyTailRows, type VerifyResult } from './verify.ts';

export interface AuditTrail {
  /** The whole chain, every anchor, and (SQLite) the database's own integrity. */
  verify(): Promise<VerifyResult>;
  /** Cheap enough for start-up: the newest records and the newest anchor only. */
  verifyTail(): Promise<VerifyResult>;
  search(q: AuditSearch): Promise<AuditRow[]>;
  /** One client's throughput at one organisation when `scope` is given, else the whole SMSP's. */
  throughput(date: string, scope?: ThroughputScope): Promise<Throughput>;
  /** The newest record's seq and hash (what an anchor signs), or undefined on an empty trail. */
  head(): Promise<{ seq: number; hash: string } | undefined>;
  close(): Promise<void>;
}

export async function openAuditTrail(config: GatewayConfig, hmacKey: Buffer): Promise<AuditTrail> {
  const { anchorDir, anchorPublicKeyFile } = config.audit;
  const anchors = () => (anchorDir && existsSync(anchorDir) ? readAnchors(anchorDir) : []);
  const publicKey = () => (anchorPublicKeyFile ? readFileSync(anchorPublicKeyFile, 'utf8') : undefined);
  if (config.audit.postgresUrl) return openPostgresTrail(config.audit.postgresUrl, hmacKey, anchors, publicKey);
  const db = openAuditReader(config.audit.sqliteFile!);
  return {
    verify: async () => verifyAuditChain(db, hmacKey, anchors(), publicKey(), readRetention(anchorDir)),
    verifyTail: async () => verifyAuditTail(db, hmacKey, anchors(), publicKey(), undefined, readRetention(anchorDir)),
    search: async (q) => searchAudit(db, q),
    throughput: async (date, scope) => throughputOn(db, date, scope),
    head: async () => db.prepare('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined,
    close: async () => void db.close(),
  };
}

async function openPostgresTrail(url: string, hmacKey: Buffer, anchors: () => ReturnType<typeof readAnchors>, publicKey: () => string | undefined): Promise<AuditTrail> {
  // Only a configured PostgreSQL store loads the driver.
  const { postgresPool, postgresReader } = await import('./postgres-store.ts');
  const pool = postgresPool(url, 2);
  const reader = postgresReader(pool);
  return {
    async verify() {
      const all = anchors();
      const walk = chainWalk(hmacKey, all.length > 0);
      // Pages by seq: a trail of millions of records is never all in memory.
      for (let after = 0; ; ) {
        const rows = await reader.page(after, 5000);
        for (const row of rows) {
          const broken = walk.step(row);
          if (broken) return broken;
        }
        if (rows.length < 5000) break;
        after = rows.at(-1)!.seq;
      }
      return walk.finish(all, publicKey());
    },
    async verifyTail() {
      const newest = newestAnchor(anchors());
      return verifyTailRows(await reader.newest(TAIL_RECORDS), hmacKey, newest, publicKey(), newest && (await reader.hashAt(newest.seq)));
    },
    search: (q) => reader.search(q),
    throughput: (date, scope) => reader.throughput(date, scope),
    head: async () => (await reader.newest(1))[0],
    close: () => pool.end(),
  };
}
