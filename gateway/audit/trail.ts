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
import { verifyAuditChain, type VerifyResult } from './verify.ts';

export interface AuditTrail {
  verify(): VerifyResult;
  search(q: AuditSearch): AuditRow[];
  throughput(date: string): Throughput;
  close(): void;
}

export function openAuditTrail(config: GatewayConfig, hmacKey: Buffer): AuditTrail {
  const db = openAuditReader(config.audit.sqliteFile);
  const { anchorDir, anchorPublicKeyFile } = config.audit;
  return {
    verify: () =>
      verifyAuditChain(
        db,
        hmacKey,
        anchorDir && existsSync(anchorDir) ? readAnchors(anchorDir) : [],
        anchorPublicKeyFile ? readFileSync(anchorPublicKeyFile, 'utf8') : undefined,
      ),
    search: (q) => searchAudit(db, q),
    throughput: (date) => throughputOn(db, date),
    close: () => db.close(),
  };
}
