/**
 * FGMISQR009: `audit.outcomeRetentionDays` applies on SIGHUP to the next FHIR-interface query
 * (its erasure date moves), and a reload changing it is not reported as needing a restart.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { buildQueryBundle } from '../../gateway/fhir/query-bundle.ts';
import { loadConfig } from '../../gateway/config/config.ts';
import { GATEWAY_ASID, startTestStack } from '../helpers/stack.ts';

describe("FGMISQR009 the FHIR interface's erasure period on reload", () => {
  it('FGMISQR009 audit.outcomeRetentionDays applies on SIGHUP to the next query, without a restart', async () => {
    const now = () => new Date('2026-03-10T12:00:00Z');
    // The simulator answers on the same clock: Spine's timestamp must be within the gateway's allowed skew.
    const stack = await startTestStack({
      tls: true,
      deps: { now },
      simulatorNow: now,
      configure: (raw) => {
        raw.clients[2].odsCodes = ['RY2'];
      },
    });
    try {
      const ask = async () => {
        const q = buildQueryBundle({
          nhsNumber: '9990000042',
          sourceAsid: '918999198993',
          destinationAsid: GATEWAY_ASID,
          author: { kind: 'local', localId: 'chs-user-17' },
          organization: { odsCode: 'RY2', name: 'Test Child Health System' },
        });
        const res = await stack.request('/fhir/fgm/query', {
          body: q.xml,
          headers: { 'content-type': 'application/fhir+xml' },
          clientCert: true,
        });
        assert.equal(res.status, 200, res.body);
        return stack.auditRows().find((r) => r.clientMessageId === q.messageId)!.outcomeEraseOn;
      };
      assert.equal(await ask(), '2026-04-09', 'the default: 30 days');
      const raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
      raw.audit.outcomeRetentionDays = 7;
      writeFileSync(stack.configFile, JSON.stringify(raw));
      const reloaded = await stack.gateway().reload(loadConfig(stack.configFile));
      assert.deepEqual(reloaded.needsRestart, []);
      assert.equal(await ask(), '2026-03-17');
    } finally {
      await stack.close();
    }
  });
});
