/**
 * @module audit/cli
 * The audit trail from the command line, reading the gateway's own FGM_GATEWAY_CONFIG:
 *   npm run audit:verify                       database integrity + chain + anchors: "intact, N records" (exit 0) or the first problem (exit 1)
 *   npm run audit:anchor -- --key FILE [--out DIR]   sign the current head with an Ed25519 key the gateway never holds
 *   npm run audit:anchor -- --generate-key DIR       make that key pair
 *   npm run audit:throughput -- [YYYY-MM-DD]   daily total and peak hour (SMSP-PERF-002), no patient data
 * Problems print one line and exit 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { readKeyMaterial } from '../key-material.ts';
import { generateAnchorKeys, signAnchor, writeAnchor } from './anchor.ts';
import { openAuditReader, throughputOn } from './sqlite-store.ts';
import { openAuditTrail } from './trail.ts';
import { describeVerify } from './verify.ts';

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { key: { type: 'string' }, out: { type: 'string' }, 'generate-key': { type: 'string' } },
  });
  if (command === 'anchor' && values['generate-key']) {
    const keys = generateAnchorKeys(values['generate-key']);
    console.log(`private key ${keys.privateKeyFile} (keep it away from the gateway); public key ${keys.publicKeyFile} (audit.anchorPublicKeyFile)`);
    return 0;
  }
  const config = loadConfig();
  switch (command) {
    case 'verify': {
      const trail = openAuditTrail(config, readKeyMaterial(config).hmacKey);
      const result = trail.verify();
      trail.close();
      console.log(describeVerify(result));
      return result.ok ? 0 : 1;
    }
    case 'anchor': {
      if (!values.key) throw new Error('anchor needs --key <Ed25519 private key PEM>');
      const out = values.out ?? config.audit.anchorDir;
      if (!out) throw new Error('anchor needs --out <dir> or audit.anchorDir in the config');
      const db = openAuditReader(config.audit.sqliteFile);
      const head = db.prepare('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
      db.close();
      if (!head) throw new Error('the audit trail is empty: nothing to anchor');
      console.log(`anchored record ${head.seq}: ${writeAnchor(out, signAnchor(head, readFileSync(values.key, 'utf8')))}`);
      return 0;
    }
    case 'throughput': {
      const date = positionals[0] ?? new Date().toISOString().slice(0, 10);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`throughput: "${date}" is not YYYY-MM-DD`);
      const db = openAuditReader(config.audit.sqliteFile);
      const t = throughputOn(db, date);
      db.close();
      console.log(`${t.date}: ${t.total} requests; peak hour ${t.peakHour ?? '-'}:00 UTC with ${t.peakHourCount}`);
      return 0;
    }
    default:
      throw new Error('usage: audit verify | anchor --key FILE [--out DIR] | anchor --generate-key DIR | throughput [YYYY-MM-DD]');
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`audit: ${(e as Error).message.split('\n')[0]}`);
  process.exitCode = 2;
}
