/**
 * FGMISQR009 from the command line: `cli.js erase-outcomes` (the built CLI, the gateway's own
 * config) clears the outcomes whose date has come, leaves the others, records the erasure in the
 * chain beside whatever the gateway appends, and the trail still verifies. SQLite's own trigger
 * lets through no other UPDATE: not a partial erasure, not an erasure that changes anything else.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateAnchorKeys } from '../../gateway/audit/anchor.ts';
import type { AuditEvent } from '../../gateway/audit/audit-event.ts';
import { openSqliteAuditStore } from '../../gateway/audit/sqlite-store.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { testPki } from '../helpers/pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'fgm-erase-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number, outcomeEraseOn: string): AuditEvent => ({
  time: `2026-01-0${i}T10:00:00.000Z`,
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId: `user${i}`,
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SUCCESS',
  httpStatus: 200,
  answeredBySpine: true,
  outcomeEraseOn,
});

describe('FGMISQR009 erase-outcomes from the command line', () => {
  it('FGMISQR009 erase-outcomes clears only the outcomes due, records the erasure, and verify stays intact', async () => {
    writeFileSync(join(dir, 'hmac.key'), randomBytes(32).toString('hex'));
    const file = join(dir, 'audit.sqlite');
    const store = await openSqliteAuditStore(file, Buffer.from(readFileSync(join(dir, 'hmac.key'), 'utf8').trim()));
    await store.record(event(1, '2026-02-01')); // due (the real clock is past it)
    await store.record(event(2, '2999-01-01')); // not yet
    const pki = await testPki();
    const keys = generateAnchorKeys(join(dir, 'keys'));
    const tls = {
      certFile: pki.leaf['gateway-client'].cert,
      keyFile: pki.leaf['gateway-client'].key,
      caFile: pki.caCert,
    };
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        metrics: { host: '127.0.0.1', port: 0 },
        listen: { host: '127.0.0.1', port: 0 },
        smsp: { asid: '200000000111', odsCode: 'RX1' },
        spine: {
          endpoint: 'https://127.0.0.1:9/fhir/fgm/query',
          asid: '990101234567',
          tls,
          timeoutMs: 1000,
          rateLimit: { perSecond: 1, burst: 1 },
        },
        clients: [
          {
            id: 'epr',
            name: 'EPR',
            odsCode: 'RX1',
            origins: [],
            claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
            roleActivities: {},
            auditorRoles: [],
            priority: 'interactive',
            token: {
              issuer: 'https://epr.test',
              audience: 'gw',
              publicKeyFile: keys.publicKeyFile,
              algorithms: ['EdDSA'],
              maxLifetimeSeconds: 300,
            },
          },
        ],
        audit: { sqliteFile: file, hmacKeyFile: join(dir, 'hmac.key') },
      }),
    );
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [...builtGateway('audit/cli.js'), ...args], {
        env: { ...process.env, FGM_GATEWAY_CONFIG: config },
        encoding: 'utf8',
      });
    // The store stays open, as a running gateway's would: the CLI appends its record beside it.
    const erased = cli('erase-outcomes');
    assert.equal(erased.status, 0, erased.stderr);
    assert.match(
      erased.stdout,
      /^erased the outcome of 1 records, and of 0 archived records, due on or before \d{4}-\d{2}-\d{2}\n$/,
    );
    await store.record(event(3, '2999-01-01'));
    await store.close();
    const db = new Database(file);
    const rows = db
      .prepare('SELECT seq, eventType, userId, outcomeCode, httpStatus, outcomeSalt FROM audit_event ORDER BY seq')
      .all() as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((r) => [r.seq, r.eventType, r.userId, r.outcomeCode]),
      [
        [1, 'widget-query', 'user1', null],
        [2, 'widget-query', 'user2', 'SUCCESS'],
        [3, 'outcome-erasure', null, 'SUCCESS'],
        [4, 'widget-query', 'user3', 'SUCCESS'],
      ],
    );
    assert.equal(rows[0]!.outcomeSalt, null);
    const verified = cli('verify');
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^intact, 4 records/);

    // The trigger: nothing but a whole erasure of a record with an erasure date.
    for (const sql of [
      `UPDATE audit_event SET outcomeCode = NULL WHERE seq = 2`,
      `UPDATE audit_event SET outcomeCode = NULL, httpStatus = NULL, outcomeSalt = NULL, userId = 'x' WHERE seq = 2`,
      `UPDATE audit_event SET outcomeCode = NULL, httpStatus = NULL, outcomeSalt = NULL, outcomeEraseOn = '2026-01-01' WHERE seq = 2`,
      `UPDATE audit_event SET outcomeCode = 'NO_RECORD_FOUND' WHERE seq = 2`,
    ])
      assert.throws(() => db.exec(sql), /append-only/, sql);
    db.close();
  });
});
