import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from './audit-event.ts';
import { boundRefusedUsers, OTHER_USERS } from './refused-user-bound.ts';

const busy = (userId: string | null, i: number): AuditEvent => ({
  time: '2026-11-25T10:00:00.000Z',
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: 'epr',
  userId,
  roleProfileId: null,
  localRoles: 'midwife',
  orgCode: 'RX1',
  nhsNumber: '9990000018',
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'SPINE_BUSY',
  httpStatus: 429,
  answeredBySpine: false,
});

function bounded(opts: Parameters<typeof boundRefusedUsers>[1]) {
  const stored: AuditEvent[] = [];
  const sink = boundRefusedUsers(
    { record: async (e) => void stored.push(e) },
    { now: () => new Date(Date.UTC(2026, 10, 25, 10)), ...opts },
  );
  const attempts = (e: AuditEvent) => JSON.parse(e.detail ?? '{}').refusedAttempts;
  const own = (userId: string) => stored.filter((e) => e.userId === userId && !attempts(e)).length;
  const counted = (userId: string) =>
    stored.filter((e) => attempts(e)?.userId === userId).reduce((n, e) => n + attempts(e).count, 0);
  return { sink, stored, own, counted };
}

describe('the refused-user bound (SMSP-AUDIT-001)', () => {
  it('SMSP-AUDIT-001 a client naming a new user in every request is bounded: beyond the users tracked, its new users share one count', async () => {
    const { sink, own, counted } = bounded({ perWindow: 1, maxUsers: 2 });
    for (const u of ['u1', 'u2', 'u3', 'u4']) for (let i = 0; i < 2; i++) await sink.record(busy(u, i));
    await sink.flush();
    assert.deepEqual([own('u1'), own('u2'), own('u3') + own('u4')], [1, 1, 1]);
    assert.deepEqual([counted('u1'), counted('u2'), counted(OTHER_USERS)], [1, 1, 3]);
  });

  it('SMSP-AUDIT-001 a client system refused before its message named a user is counted under the client alone, apart from its users', async () => {
    const { sink, stored, own } = bounded({ perWindow: 1 });
    for (let i = 0; i < 3; i++) await sink.record({ ...busy(null, i), clientId: 'chs', orgCode: null });
    for (let i = 0; i < 2; i++) await sink.record({ ...busy('chs-user', i), clientId: 'chs' });
    await sink.flush();
    const summary = (userId: string | null) =>
      stored.map((e) => JSON.parse(e.detail ?? '{}').refusedAttempts).find((a) => a && a.userId === userId);
    assert.deepEqual([summary(null)?.clientId, summary(null)?.count], ['chs', 2]);
    assert.deepEqual([own('chs-user'), summary('chs-user')?.count], [1, 1]);
  });

  it('SMSP-AUDIT-001 a busy tone naming the message built for it, never sent, is bounded like any refusal before Spine', async () => {
    const { sink, own, counted } = bounded({ perWindow: 1 });
    for (let i = 0; i < 3; i++)
      await sink.record({ ...busy('u1', i), spineMessageId: `m${i}` }, { spineNotAsked: true });
    await sink.flush();
    assert.deepEqual([own('u1'), counted('u1')], [1, 2]);
  });

  it('SMSP-AUDIT-004 a request that reached Spine or was answered, or named no client, is never bounded', async () => {
    const { sink, stored } = bounded({ perWindow: 1 });
    const reached: Partial<AuditEvent>[] = [
      { spineMessageId: 'm1', outcomeCode: 'COULD_NOT_CONNECT_TO_SPINE', httpStatus: 502 },
      { spineMessageId: 'm2', spineResponseId: 's2', answeredBySpine: true, outcomeCode: 'INVALID_NHS_NUMBER' },
      { clientId: null, outcomeCode: 'AUTHOR_CREDENTIALS_ERROR', httpStatus: 401 },
      { outcomeCode: 'SUCCESS', httpStatus: 200 },
    ];
    for (const [i, r] of reached.entries()) for (let j = 0; j < 3; j++) await sink.record({ ...busy('u1', i), ...r });
    await sink.flush();
    assert.equal(stored.length, 12);
    assert.ok(stored.every((e) => e.detail === undefined));
  });
});
