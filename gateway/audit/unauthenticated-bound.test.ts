import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from './audit-event.ts';
import { boundUnauthenticated, OTHER_ADDRESSES } from './unauthenticated-bound.ts';

const refused = (i: number): AuditEvent => ({
  time: '2026-11-25T10:00:00.000Z',
  eventType: 'widget-query',
  requestId: `r${i}`,
  clientMessageId: `r${i}`,
  clientId: null,
  userId: null,
  roleProfileId: null,
  localRoles: null,
  orgCode: null,
  nhsNumber: null,
  spineMessageId: null,
  spineResponseId: null,
  outcomeCode: 'AUTHOR_CREDENTIALS_ERROR',
  httpStatus: 401,
  answeredBySpine: false,
});

/** A sink keeping what it is given, and the bound in front of it on a test clock. */
function bounded(opts: Parameters<typeof boundUnauthenticated>[1]) {
  const stored: AuditEvent[] = [];
  const sink = boundUnauthenticated(
    { record: async (e) => void stored.push(e) },
    { now: () => new Date(Date.UTC(2026, 10, 25, 10)), ...opts },
  );
  const detail = (e: AuditEvent) => JSON.parse(e.detail ?? '{}');
  const own = (address: string) => stored.filter((e) => detail(e).sourceAddress === address).length;
  const counted = (address: string) =>
    stored
      .filter((e) => detail(e).unauthenticatedAttempts?.sourceAddress === address)
      .reduce((n, e) => n + detail(e).unauthenticatedAttempts.count, 0);
  return { sink, stored, own, counted };
}

describe('the unauthenticated-flood bound (SMSP-AUDIT-001)', () => {
  it('SMSP-AUDIT-001 a flood from many addresses is bounded by the all-address budget, every attempt still counted', async () => {
    const { sink, stored, own, counted } = bounded({ perWindow: 2, maxRecords: 5 });
    const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
    for (let i = 0; i < 3; i++) for (const a of addresses) await sink.record(refused(i), { sourceAddress: a });
    assert.equal(stored.length, 5);
    await sink.flush();
    for (const a of addresses) assert.equal(own(a) + counted(a), 3, a);
  });

  it('SMSP-AUDIT-001 beyond the addresses it tracks, new addresses share one count', async () => {
    const { sink, own, counted } = bounded({ perWindow: 1, maxAddresses: 2 });
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'])
      for (let i = 0; i < 2; i++) await sink.record(refused(i), { sourceAddress: a });
    await sink.flush();
    assert.deepEqual([own('10.0.0.1'), own('10.0.0.2'), own('10.0.0.3') + own('10.0.0.4')], [1, 1, 1]);
    assert.deepEqual([counted('10.0.0.1'), counted('10.0.0.2'), counted(OTHER_ADDRESSES)], [1, 1, 3]);
  });

  it('SMSP-AUDIT-001 IPv6 addresses are counted by their /64, NAT64 and IPv4-mapped ones by their IPv4 address: a host cannot take a new share per address', async () => {
    const { sink, own, counted } = bounded({ perWindow: 2 });
    const oneHost = ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::c'];
    for (const [i, a] of oneHost.entries()) await sink.record(refused(i), { sourceAddress: a });
    await sink.record(refused(9), { sourceAddress: '2001:db8:1:3::a' });
    const oneIpv4 = ['192.0.2.17', '64:ff9b::c000:211', '64:ff9b::192.0.2.17', '::ffff:192.0.2.17'];
    for (const [i, a] of oneIpv4.entries()) await sink.record(refused(i), { sourceAddress: a });
    await sink.flush();
    // Own records keep the address itself (the access point, SMSP-AUDIT-009); the count names the source.
    assert.deepEqual(oneHost.map(own), [1, 1, 0, 0]);
    assert.equal(counted('2001:db8:1:2::/64'), 2);
    assert.equal(own('2001:db8:1:3::a'), 1, 'another /64 has its own share');
    assert.deepEqual(oneIpv4.map(own), [1, 1, 0, 0]);
    assert.equal(counted('192.0.2.17'), 2);
  });

  it('authenticated requests and requests without an address are never bounded', async () => {
    const { sink, stored } = bounded({ perWindow: 1 });
    for (let i = 0; i < 5; i++) await sink.record({ ...refused(i), clientId: 'epr' }, { sourceAddress: '10.0.0.1' });
    for (let i = 0; i < 5; i++) await sink.record(refused(i));
    assert.equal(stored.length, 10);
    assert.ok(stored.every((e) => e.detail === undefined));
  });
});
