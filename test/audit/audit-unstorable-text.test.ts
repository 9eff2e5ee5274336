/**
 * SMSP-AUDIT-009, over real sockets on both stores: a CDS client's `hookInstance` and an identity
 * provider's signed claims (`sub`, `roles`) holding a lone surrogate (`\ud800`) — text no UTF-8
 * store can hold — are audited in canonical form (U+FFFD), the chain stays intact, and a gateway
 * with `audit.onBrokenChain: "refuse"` still restarts on it; `audit:verify` (the built CLI) says intact.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { migratePostgres, postgresPool } from '../../gateway/audit/postgres-store.ts';
import { builtGateway } from '../helpers/built-gateway.ts';
import { signJwt } from '../helpers/jwt.ts';
import { sqlAs, testDatabase } from '../helpers/services.ts';
import { LOCAL_MIDWIFE, startTestStack, type TestStack } from '../helpers/stack.ts';

const BASE_URL = 'https://fgm.example.nhs.uk';
const EPR = { id: 'epr-trust', name: 'Trust EPR', ods: 'RYJ', issuer: 'https://epr.trust.example/' };
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function cdsJwt(): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      iss: EPR.issuer,
      aud: `${BASE_URL}/cds-services/fgm-is`,
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
      tenant: 'RYJ',
    },
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-1' },
  );
}

async function stackOn(audit: (raw: Record<string, any>) => Record<string, unknown>): Promise<TestStack> {
  return startTestStack({
    configure: (raw) => {
      const pem = join(mkdtempSync(join(tmpdir(), 'fgm-epr-')), 'epr.pub.pem');
      writeFileSync(pem, eprKey.publicKey.export({ type: 'spki', format: 'pem' }));
      raw.audit = { ...audit(raw), onBrokenChain: 'refuse' };
      raw.cdsHooks = {
        baseUrl: `${BASE_URL}/`,
        clients: [
          {
            id: EPR.id,
            name: EPR.name,
            odsCode: EPR.ods,
            issuer: EPR.issuer,
            publicKeyFile: pem,
            algorithms: ['ES256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
          },
        ],
      };
    },
  });
}

/** The three hostile requests; answers the rows' seqs' worth of expectations. */
async function hostile(stack: TestStack) {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' }],
    birthDate: '2014-03-02',
  };
  const cds = await stack.request('/cds-services/fgm-is', {
    token: cdsJwt(),
    json: {
      hook: 'patient-view',
      hookInstance: 'hook-\ud800-1',
      context: { userId: 'Practitioner/example', patientId: 'p1' },
      prefetch: { patient },
    },
  });
  assert.equal(cds.status, 200, cds.body);
  const asked = await stack.request('/api/fgm-status', {
    token: stack.signToken({ ...LOCAL_MIDWIFE, sub: 'aj\ud800ones' }),
    json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
  });
  assert.equal(asked.status, 200, asked.body);
  // Refused by RBAC (no such role), still audited with the claim's text.
  const refused = await stack.request('/api/fgm-status', {
    token: stack.signToken({ ...LOCAL_MIDWIFE, sub: 'intruder\udfff', roles: ['mid\ud800wife'] }),
    json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
  });
  assert.equal(refused.status, 403, refused.body);
}

/** What the trail now holds for the three, and that it verifies and the gateway restarts under "refuse". */
async function proven(stack: TestStack, rows: () => Promise<Record<string, unknown>[]>) {
  const all = await rows();
  assert.ok(
    all.some((r) => r.clientMessageId === 'hook-\ufffd-1' && r.eventType === 'cds-query'),
    'the hookInstance, canonical',
  );
  assert.ok(
    all.some((r) => r.userId === 'aj\ufffdones' && r.outcomeCode === 'SUCCESS'),
    'the sub claim, canonical',
  );
  assert.ok(
    all.some((r) => r.userId === 'intruder\ufffd' && r.httpStatus === 403),
    'the refused request, audited',
  );
  await stack.restart();
  assert.equal((await stack.request('/healthz')).status, 200, 'restarted with onBrokenChain "refuse"');
  const cli = spawnSync(process.execPath, [...builtGateway('audit/cli.js'), 'verify'], {
    env: { ...process.env, FGM_GATEWAY_CONFIG: stack.configFile },
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /^intact, \d+ records/);
}

describe('SMSP-AUDIT-009 a lone surrogate in a CDS hookInstance or a token claim leaves the chain intact', () => {
  it('SMSP-AUDIT-009 SQLite: hookInstance and sub/roles claims holding a lone surrogate are stored as U+FFFD, verify intact, the gateway restarts under "refuse"', async () => {
    const stack = await stackOn((raw) => raw.audit);
    try {
      await hostile(stack);
      await proven(stack, async () => stack.auditRows());
    } finally {
      await stack.close();
    }
  });

  it('SMSP-AUDIT-009 PostgreSQL: hookInstance and sub/roles claims holding a lone surrogate are stored as U+FFFD, verify intact, the gateway restarts under "refuse"', async () => {
    const db = await testDatabase();
    const owner = postgresPool(db.ownerUrl, 1);
    await migratePostgres(owner, db.gatewayRole).finally(() => owner.end());
    try {
      const stack = await stackOn((raw) => ({ postgresUrl: db.gatewayUrl, hmacKeyFile: raw.audit.hmacKeyFile }));
      try {
        await hostile(stack);
        await proven(stack, () => sqlAs(db.gatewayUrl, 'SELECT * FROM audit_event ORDER BY seq'));
      } finally {
        await stack.close();
      }
    } finally {
      await db.drop();
    }
  });
});
