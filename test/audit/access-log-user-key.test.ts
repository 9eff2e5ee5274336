/**
 * @module test/audit/access-log-user-key
 * Issue 21: the access log names the user by a pseudonymous key (a keyed hash), so IT can see one
 * user's flood without the log identifying her. Over real sockets against the test stack; the
 * expected key is computed here from the stack's audit key file by the documented derivation
 * (docs/operating.md, "Security notes": the logs), not by the gateway's code.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOCAL_MIDWIFE, TEST_CLIENTS, startTestStack, type TestStack } from '../helpers/stack.ts';

let stack: TestStack;
before(async () => (stack = await startTestStack()));
after(async () => stack?.close());

/** HMAC-SHA-256(HMAC-SHA-256(audit key, label), client NUL user), 16 base64url characters. */
function expectedKey(clientId: string, userId: string): string {
  const auditKey = Buffer.from(readFileSync(join(stack.dir, 'audit-hmac.key'), 'utf8').trim());
  const secret = createHmac('sha256', auditKey).update('fgm-status access-log user key v1').digest();
  return createHmac('sha256', secret).update(`${clientId}\u0000${userId}`).digest('base64url').slice(0, 16);
}

describe("the access log's pseudonymous user key", () => {
  it('SMSP-IG-001 names each user by a keyed hash, the same on each of her requests; her raw id is never logged', async () => {
    const from = stack.logs.length;
    const users = ['flooding-user-7f3a9c', 'flooding-user-7f3a9c', 'colleague-user-2b81e4'];
    for (const sub of users) {
      const res = await stack.request('/api/fgm-status', {
        token: stack.signToken({ ...LOCAL_MIDWIFE, sub }),
        json: { nhsNumber: '9990000018', birthDate: '2014-03-02' },
      });
      assert.equal(res.status, 200, res.body);
    }
    const lines = stack.logs.slice(from);
    const requests = lines
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      requests.map((r) => r.userKey),
      users.map((u) => expectedKey(TEST_CLIENTS.local.id, u)),
    );
    assert.notEqual(requests[0]!.userKey, requests[2]!.userKey);
    for (const sub of new Set(users)) assert.ok(!lines.some((l) => l.includes(sub)), `${sub} appears in a log line`);
  });

  it('a request no one is authenticated for has no user key', async () => {
    const from = stack.logs.length;
    const res = await stack.request('/api/fgm-status', { json: { nhsNumber: '9990000018', birthDate: '2014-03-02' } });
    assert.equal(res.status, 401);
    const line = stack.logs.slice(from).find((l) => l.includes('"msg":"request"'))!;
    assert.equal(JSON.parse(line).userKey, null);
  });
});
