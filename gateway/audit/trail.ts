/**
 * @module audit/trail
 * What auditors and the command line may do with the trail: verify it, search it, report
 * throughput. Opens its own read-only connection, so it never interferes with the writer.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config.ts';
import { readAnchors } from './anchor.ts';
import type { AuditRow } from './chain.ts';
import { openAuditReader, searchAudit, throughputOn, type AuditSearch, type Throughput } from './sqlite-store.ts';
import { verifyAuditChain, verifyAuditTail, type VerifyResult } from './verify.ts';

export interface AuditTrail {
  /** The whole chain, every anchor, and the database's own integrity. */
  verify(): VerifyResult;
  /** Cheap enough for start-up: the newest records and the newest anchor only. */
  verifyTail(): VerifyResult;
  search(q: AuditSearch): AuditRow[];
  /** One client's throughput when `clientId` is given, else the whole SMSP's. */
  throughput(date: string, clientId?: string): Throughput;
  close(): void;
}

export function openAuditTrail(config: GatewayConfig, hmacKey: Buffer): AuditTrail {
  const db = openAuditReader(config.audit.sqliteFile);
  const { anchorDir, anchorPublicKeyFile } = config.audit;
  const anchors = () => (anchorDir && existsSync(anchorDir) ? readAnchors(anchorDir) : []);
  const publicKey = () => (anchorPublicKeyFile ? readFileSync(anchorPublicKeyFile, 'utf8') : undefined);
  return {
    verify: () => verifyAuditChain(db, hmacKey, anchors(), publicKey()),
    verifyTail: () => verifyAuditTail(db, hmacKey, anchors(), publicKey()),
    search: (q) => searchAudit(db, q),
    throughput: (date, clientId) => throughputOn(db, date, clientId),
    close: () => db.close(),
  };
}
