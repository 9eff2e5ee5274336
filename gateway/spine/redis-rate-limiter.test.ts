import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { tcpProxy, testRedis, type TestRedis } from '../../test/helpers/services.ts';
import { createRateLimiter, type Priority } from './rate-limiter.ts';
import { createSharedRateLimiter, type SharedBudgetState, type SharedRateLimiter } from './redis-rate-limiter.ts';

// So slow that no token refills during a test: each decision depends on the rules alone.
const PER_SECOND = 0.001;
const SECRET = Buffer.alloc(32, 7);

describe('the Spine budget shared in Redis', () => {
  let redis: TestRedis;
  const open: SharedRateLimiter[] = [];
  before(async () => (redis = await testRedis()));
  after(async () => {
    await Promise.all(open.map((l) => l.close()));
    await redis?.drop();
  });
  const gateway = async (
    prefix: string,
    burst: number,
    shares: Record<string, number>,
    userShare?: number,
    maxKnownUsers?: number,
  ) => {
    const l = await createSharedRateLimiter({
      redisUrl: redis.url,
      keyPrefix: `${redis.prefix}${prefix}`,
      perSecond: PER_SECOND,
      burst,
      localFallbackShare: 0.5,
      shares,
      userKeySecret: SECRET,
      ...(userShare !== undefined && { userShare }),
      ...(maxKnownUsers !== undefined && { maxKnownUsers }),
    });
    open.push(l);
    assert.deepEqual(l.state(), { shared: true });
    return l;
  };

  /** The same requests through two gateways sharing Redis, and through one in-process limiter (the oracle: the rules as rate-limiter.ts states them). */
  async function compare(
    prefix: string,
    burst: number,
    shares: Record<string, number>,
    asks: [Priority, string, string?][],
    userShare?: number,
    maxKnownUsers?: number,
  ) {
    const [g1, g2] = [
      await gateway(prefix, burst, shares, userShare, maxKnownUsers),
      await gateway(prefix, burst, shares, userShare, maxKnownUsers),
    ];
    const oracle = createRateLimiter({
      perSecond: PER_SECOND,
      burst,
      shares,
      ...(userShare !== undefined && { userShare }),
      ...(maxKnownUsers !== undefined && { maxKnownUsers }),
      now: () => 0,
    });
    const shared: boolean[] = [];
    for (const [i, [priority, client, user]] of asks.entries())
      shared.push(await (i % 2 ? g2 : g1).tryAcquire(priority, client, user));
    assert.deepEqual(
      shared,
      asks.map(([p, c, u]) => oracle.tryAcquire(p, c, u)),
    );
    return shared;
  }

  it('SMSP-PERF-007 batch stops at the interactive reserve, across gateways; interactive still gets the rest', async () => {
    const asks: [Priority, string][] = [
      ...Array.from({ length: 12 }, () => ['batch', 'chs'] as [Priority, string]),
      ...Array.from({ length: 12 }, () => ['interactive', 'epr'] as [Priority, string]),
    ];
    // capacity 10, reserve 5: 5 batch, then the 5 interactive tokens left, whichever gateway asks.
    assert.equal((await compare('reserve:', 9, {}, asks)).filter(Boolean).length, 10);
  });

  it('SMSP-PERF-001 one client beyond its share leaves another client its part, across gateways', async () => {
    const asks: [Priority, string][] = [
      ['interactive', 'b'],
      ...Array.from({ length: 20 }, () => ['interactive', 'a'] as [Priority, string]),
      ...Array.from({ length: 12 }, () => ['interactive', 'b'] as [Priority, string]),
    ];
    assert.equal((await compare('shares:', 19, { a: 0.5, b: 0.5 }, asks)).filter(Boolean).length, 20);
  });

  it('SMSP-PERF-001 one user flooding gets the busy tone while another user of the same client is answered, across gateways', async () => {
    const rep = (n: number, client: string, user: string) =>
      Array.from({ length: n }, () => ['interactive', client, user] as [Priority, string, string]);
    const asks = [
      ...rep(1, 'a', 'clinician'),
      ...rep(30, 'a', 'flooder'),
      ...rep(2, 'a', 'clinician'),
      ...rep(3, 'b', 'other-trust'),
    ];
    const got = await compare('users:', 19, { a: 0.5, b: 0.5 }, asks, 0.25);
    // By hand: capacity 20; a's share 10 tokens. Each new id's first request and its own part's
    // first token come from a's newcomers' part (half its share, 5): the clinician's, then the
    // flooder's; the flooder has that token, then spare tokens down to the upper half (17 to 10):
    // 9 in all, then 21 busy tones. The clinician still has her token from the lower half (her
    // next request is beyond her part), and Trust B's user hers (2; the third is beyond it).
    assert.deepEqual(got, [true, ...Array(9).fill(true), ...Array(21).fill(false), true, false, true, true, false]);
  });

  it("SMSP-PERF-001 a caller rotating user ids gets no more than the newcomers' part and spare tokens, and a colleague keeps her part, across gateways", async () => {
    const rotated = Array.from(
      { length: 30 },
      (_, i) => ['interactive', 'a', `rotated-${i}`] as [Priority, string, string],
    );
    const asks: [Priority, string, string][] = [
      ['interactive', 'a', 'clinician'],
      ...rotated,
      ['interactive', 'a', 'clinician'],
    ];
    const got = await compare('rotating:', 19, { a: 0.5, b: 0.5 }, asks, 0.25);
    // By hand: two tokens of the newcomers' part (5) went to her, the other three to the first two
    // rotated ids (19 down to 17), the next ids share the spare tokens (17 down to 10: 7), 9 in
    // all; her second request finds her own token, from the lower half.
    assert.deepEqual(got, [true, ...Array(9).fill(true), ...Array(21).fill(false), true]);
  });

  it('SMSP-PERF-001 a known user is remembered for a shift, and at most maxKnownUsers per client, the ids that never came back forgotten first, across gateways as in one process', async () => {
    const asks: [Priority, string, string][] = [
      ['interactive', 'a', 'colleague'],
      ['interactive', 'a', 'colleague'],
      ...Array.from({ length: 10 }, (_, i) => ['interactive', 'a', `rotated-${i}`] as [Priority, string, string]),
      ['interactive', 'a', 'rotated-0'],
      ['interactive', 'a', 'rotated-3'],
    ];
    const got = await compare('bounded:', 19, { a: 1 }, asks, 0.1, 3);
    // By hand: capacity 20; she is made known (the newcomers' part 10 -> 8) and back on her own
    // token; the part makes rotated-0 to -3 known (8 -> 0, the bucket 18 -> 14), the next four take
    // spare tokens down to the upper half (10). Beyond 3 known, rotated-0 and -1 are forgotten (never
    // back), never her: rotated-0 is a newcomer again, beyond every part; rotated-3 has its own token.
    assert.deepEqual(got, [true, true, ...Array(8).fill(true), false, false, false, true]);
    const r = new Redis(redis.url);
    try {
      const users = await r.keys(`${redis.prefix}bounded:user:*`);
      assert.equal(users.length, 3, 'her key, rotated-2 and rotated-3: the forgotten ids hold no memory');
      // A shift (12 h), not the old 15 minutes.
      for (const key of users) assert.ok((await r.pttl(key)) > 11 * 60 * 60_000, key);
    } finally {
      r.disconnect();
    }
  });

  it("SMSP-PERF-001 farmed ids share the known users' part across gateways as in one process: a colleague keeps her token", async () => {
    const rep = (n: number, user: (i: number) => string) =>
      Array.from({ length: n }, (_, i) => ['interactive', 'a', user(i)] as [Priority, string, string]);
    const asks = [
      ...rep(1, () => 'colleague'),
      ...rep(60, () => 'drainer'),
      ...rep(12, (i) => `farmed-${i}`),
      ...rep(120, (i) => `farmed-${i % 12}`),
      ...rep(1, () => 'colleague'),
    ];
    const got = await compare('farmed:', 99, { a: 1 }, asks, 0.25);
    // By hand: capacity 100, one client; its newcomers' part 50 pays two tokens per new id (a
    // request and its own first token): hers, the drainer's, then 23 ids; the first 12 farmed.
    // The drainer: his own token, then spare ones down to the upper half (98 -> 50). The farmed
    // ids: 12 from the newcomers' part (50 -> 38), then each its own token (26), nothing spare.
    // Her own token is one of the lower half: answered.
    assert.equal(got.filter(Boolean).length, 1 + 49 + 12 + 12 + 1);
    assert.equal(got.at(-1), true);
  });

  it("SMSP-PERF-001 farmed ids replayed beside another trust's clinician, across gateways as in one process: each request within a known user's part takes from her client's known users' pool too (atk21c F1)", async () => {
    const rep = (n: number, client: string, user: (i: number) => string) =>
      Array.from({ length: n }, (_, i) => ['interactive', client, user(i)] as [Priority, string, string]);
    const asks = [
      ...rep(2, 'b', () => 'b-midwife'),
      ...rep(20, 'a', (i) => `farmed-${i}`),
      ...rep(1, 'b', () => 'b-midwife'),
      ...rep(60, 'a', (i) => `farmed-${i % 20}`),
      ...rep(1, 'b', () => 'b-midwife'),
      ...rep(2, 'b', () => 'b-colleague'),
    ];
    const got = await compare('farm-replay:', 49, { a: 0.6, b: 0.4 }, asks, 0.25);
    // By hand: capacity 50. b's newcomers' part (10) pays the midwife's first request and her own
    // first token; her second is within her part and b's pool (0.4 × 20 + 1 = 9 tokens). a's
    // newcomers' part (15) makes 8 farmed ids known (two tokens each, the 8th owing one); the other
    // 12 take spare tokens down to the upper half (48 -> 28), and so does her third request (her
    // part is empty: no refill here). The 8 known farmed ids replay their saved tokens, each within
    // its part and a's pool (0.4 × 30 + 1 = 13): 8 from the lower half (27 -> 19); then nothing.
    // Her fourth is beyond her part: refused. b's colleague: a newcomer, then her saved token.
    assert.deepEqual(got, [...Array(2 + 20 + 1 + 8).fill(true), ...Array(60 - 8 + 1).fill(false), true, true]);
    // The pools as the script left them: a's 13 less the 8 replayed, b's 9 less the midwife's and her colleague's.
    const r = new Redis(redis.url);
    try {
      const pool = async (id: string) => Number(await r.hget(`${redis.prefix}farm-replay:knownpool:${id}`, 'tokens'));
      assert.ok(Math.abs((await pool('a')) - 5) < 0.01, `a's pool: ${await pool('a')}`);
      assert.ok(Math.abs((await pool('b')) - 7) < 0.01, `b's pool: ${await pool('b')}`);
    } finally {
      r.disconnect();
    }
  });

  it('SMSP-PERF-001 a clinician new to the gateway is answered on her second check while a colleague floods, across gateways', async () => {
    const shares = { a: 1 / 3, b: 1 / 3, c: 1 / 3 };
    const asks: [Priority, string, string][] = [
      ['interactive', 'a', 'new-clinician'],
      ...Array.from({ length: 30 }, () => ['interactive', 'a', 'flooder'] as [Priority, string, string]),
      ['interactive', 'a', 'new-clinician'],
      ['interactive', 'a', 'new-clinician'],
    ];
    const got = await compare('second-check:', 10, shares, asks, 0.25);
    // By hand: capacity 11; a's newcomers' part holds 0.5 × 11 / 3 = 1.83: it pays her first
    // request and a whole first token of her own part (owing 0.17), so the flooder finds it empty:
    // beyond any part he takes tokens down to the upper half (10 down to 5: 5). Her second check is
    // within her part (5 down to 4; on the old rule her part held 0.83: refused); her third is beyond it.
    assert.deepEqual(got, [true, ...Array(5).fill(true), ...Array(25).fill(false), true, false]);
  });

  it('SMSP-PERF-007 20 new clinicians asking while a batch client floods come before batch, across gateways', async () => {
    const shares = { a: 1 / 3, b: 1 / 3, c: 1 / 3 };
    const batch = (k: number) => Array.from({ length: k }, () => ['batch', 'c'] as [Priority, string]);
    const clinic = Array.from(
      { length: 20 },
      (_, i) => ['interactive', 'a', `clinician-${i}`] as [Priority, string, string],
    );
    const got = await compare('clinic:', 10, shares, [...batch(12), ...clinic, ...batch(3)], 0.25);
    // By hand: capacity 11, reserve 5: batch takes 6 (11 down to 5). The first clinician is paid by
    // a's newcomers' part (5 to 4), two more by a's share (3.67, less the first's: 4 to 2), the rest
    // are beyond a's share and no lower than half the reserve (2): 3 of 20 (without the per-user
    // rules 5, the two kept for requests within a part), and batch nothing.
    assert.deepEqual(got, [
      ...Array(6).fill(true),
      ...Array(6).fill(false),
      true,
      true,
      true,
      ...Array(17).fill(false),
      false,
      false,
      false,
    ]);
  });

  /** A shared budget reaching Redis through a proxy the test controls, and its moves between shared and local. */
  const throughProxy = async (
    prefix: string,
    budget: Partial<
      Pick<
        Parameters<typeof createSharedRateLimiter>[0],
        'perSecond' | 'burst' | 'shares' | 'userShare' | 'maxKnownUsers'
      >
    > = {},
  ) => {
    const proxy = await tcpProxy(redis.host, redis.port);
    const moves: SharedBudgetState[] = [];
    let heard: (() => void) | undefined;
    const l = await createSharedRateLimiter({
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      keyPrefix: `${redis.prefix}${prefix}`,
      perSecond: PER_SECOND,
      burst: 39,
      localFallbackShare: 0.5,
      shares: { a: 1 },
      userShare: 0.1,
      userKeySecret: SECRET,
      ...budget,
      onState: (s) => (moves.push(s), heard?.()),
    });
    open.push(l);
    const moved = (shared: boolean) =>
      new Promise<void>((r) => {
        const check = () => moves.at(-1)?.shared === shared && r();
        heard = check;
        check();
      });
    return { l, proxy, moved };
  };

  it('SMSP-PERF-001 a clinician the shared budget knows is known on the local share when Redis goes: a flood of rotated ids there leaves her her part', async () => {
    const { l, proxy, moved } = await throughProxy('know:');
    try {
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true, 'made known by the shared budget');
      proxy.cut();
      await moved(false);
      // Locally 20 tokens (half the burst, plus one), the newcomers' part 10: the rotation takes it
      // and the spare tokens down to the level kept for requests within a part.
      const flood: boolean[] = [];
      for (let i = 0; i < 60; i++) flood.push(await l.tryAcquire('interactive', 'a', `rotated-${i}`));
      assert.equal(flood.at(-1), false, 'the flood hears the busy tone on the local share');
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true, 'she is within her part, not a newcomer');
      assert.equal(
        await l.tryAcquire('interactive', 'a', 'new-colleague'),
        false,
        'a newcomer competes with the flood (documented)',
      );
    } finally {
      await proxy.close();
    }
  });

  it('SMSP-PERF-001 an id the shared budget admitted beyond any part (from spare tokens) is not known on the local share when Redis goes: only those it knows are (hostile review atk21b F3)', async () => {
    const { l, proxy, moved } = await throughProxy('farm:');
    try {
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true);
      // Shared: 40 tokens, the newcomers' part 20 (2 an id): she and 9 rotated ids spend it; the
      // 10th is admitted beyond any part (more than half the bucket is left).
      const admitted: string[] = [];
      for (let i = 0; i < 10; i++)
        if (await l.tryAcquire('interactive', 'a', `farmed-${i}`)) admitted.push(`farmed-${i}`);
      assert.equal(admitted.length, 10);
      const beyond = admitted.at(-1)!;
      proxy.cut();
      await moved(false);
      // Locally 20 tokens less the 11 the shared budget granted: fresh ids spend the newcomers' part
      // (10, 5 ids) and leave 4, below the 10 kept for requests within a part.
      for (let i = 0; i < 30; i++) await l.tryAcquire('interactive', 'a', `fresh-${i}`);
      assert.equal(await l.tryAcquire('interactive', 'a', beyond), false, 'admitted beyond any part: a newcomer here');
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true, 'known to the shared budget: known here');
    } finally {
      await proxy.close();
    }
  });

  it('SMSP-PERF-001 a Redis that keeps its connection open but stops answering is given one command: the gateway drops that connection and uses its local share at once, then goes back when Redis answers', async () => {
    const { l, proxy, moved } = await throughProxy('stall:');
    try {
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true);
      proxy.stall();
      const answers: boolean[] = [];
      for (let i = 0; i < 20; i++) answers.push(await l.tryAcquire('interactive', 'a', 'her'));
      assert.deepEqual(l.state().shared, false);
      assert.ok(answers[0], 'the first waits out the timeout, then the local share answers');
      // Counted in what reached the stalled connection: one budget command, not one per request.
      assert.equal(proxy.stalled.match(/evalsha/gi)?.length ?? 0, 1, 'commands sent into the stall');
      proxy.restore();
      await moved(true);
      assert.deepEqual(l.state(), { shared: true });
    } finally {
      await proxy.close();
    }
  });

  it('SMSP-PERF-001 a Redis that comes and goes hands Spine no more than the shared budget: the local share is drained by what Redis granted, and what it grants is paid back to Redis (hostile review atk21b F6)', async () => {
    const { l, proxy, moved } = await throughProxy('flap:');
    try {
      // No refill during the test: the shared bucket holds 40 tokens, the local share 20 (of which
      // the shared budget's grants take no more than half).
      const ask = async (times: number) => {
        let admitted = 0;
        for (let i = 0; i < times; i++) if (await l.tryAcquire('interactive', 'a')) admitted++;
        return admitted;
      };
      const granted = [await ask(25)];
      proxy.cut();
      await moved(false);
      granted.push(await ask(30)); // what the local share holds after the 25 Redis granted: the half it keeps
      proxy.restore();
      await moved(true);
      granted.push(await ask(30)); // the shared bucket's 15 left, less the 10 the local share granted
      proxy.cut();
      await moved(false);
      granted.push(await ask(30)); // the local share spent its own
      proxy.restore();
      await moved(true);
      granted.push(await ask(30));
      assert.deepEqual(granted, [25, 10, 5, 0, 0], 'granted per phase');
      assert.equal(
        granted.reduce((a, b) => a + b),
        40,
        'Spine was sent the shared budget, not each budget in turn',
      );
    } finally {
      await proxy.close();
    }
  });

  it('SMSP-PERF-001 what the local share granted beyond what the shared bucket holds is still owed: the bucket goes below empty and the busy tone says so (hostile review atk21c F2)', async () => {
    const { l, proxy, moved } = await throughProxy('owed:');
    try {
      let granted = 0;
      for (let i = 0; i < 35; i++) if (await l.tryAcquire('interactive', 'a')) granted++;
      assert.equal(granted, 35, 'shared: 35 of 40');
      proxy.cut();
      await moved(false);
      granted = 0;
      for (let i = 0; i < 20; i++) if (await l.tryAcquire('interactive', 'a')) granted++;
      assert.equal(granted, 10, 'local: the half the shared grants left');
      proxy.restore();
      await moved(true);
      assert.equal(await l.tryAcquire('interactive', 'a'), false, '5 left, 10 owed');
      // 5 below empty: a token in 6 refills of 0.001 a second, not the 1 an empty bucket would need.
      assert.equal(await l.retryAfterSeconds('interactive', 'a'), 6000);
    } finally {
      await proxy.close();
    }
  });

  for (const where of ['shared', 'local fallback'] as const)
    it(`SMSP-PERF-001 farmed ids replayed on the ${where} budget: another trust's clinician is answered, and the farmer does not take the tokens kept below its client's share and spare (hostile review atk21c F1)`, async () => {
      // Refilling for real (Redis's clock): the farm needs the newcomers' part to refill. Shared:
      // 20 a second, capacity 10; Trust A's newcomers' part 4 tokens at 8 a second (an id each 250 ms),
      // its known users' pool 0.4 × 8 + 1 = 4.2 tokens. Locally (Redis cut): 10 a second, capacity
      // 5, a's pool 0.4 × 4 + 1 = 2.6.
      const { l, proxy, moved } = await throughProxy(`farm-replay-${where === 'shared' ? 's' : 'l'}:`, {
        perSecond: 20,
        burst: 9,
        shares: { a: 0.8, b: 0.2 },
        userShare: 0.25,
      });
      try {
        assert.equal(await l.tryAcquire('interactive', 'b', 'b-midwife'), true, 'known to both budgets');
        // The farm, slowly (an id each 300 ms, so the newcomers' part pays for each): it harms no one.
        for (let i = 0; i < 16; i++) {
          assert.equal(await l.tryAcquire('interactive', 'a', `farmed-${i}`), true);
          if (i === 4) assert.equal(await l.tryAcquire('interactive', 'b', 'b-midwife'), true, 'during the farm');
          await new Promise((r) => setTimeout(r, 300));
        }
        if (where === 'local fallback') {
          proxy.cut();
          await moved(false);
        }
        // The replay, at once: each farmed id holds its part's saved token (on Redis, and on the
        // local share, which knows every id Redis made known).
        const replayed = (
          await Promise.all(Array.from({ length: 16 }, (_, i) => l.tryAcquire('interactive', 'a', `farmed-${i}`)))
        ).filter(Boolean).length;
        // On the old rule every saved token was within its part, down to the bucket's last token:
        // the farmer took the whole bucket and she heard the busy tone. Now the saved tokens cross
        // a's pool only (4 shared, 2 locally), then the farmer is beyond its parts, down to the
        // upper half (5 shared, 2 locally): what is left is kept for requests within a part.
        assert.equal(await l.tryAcquire('interactive', 'b', 'b-midwife'), true, 'her check during the replay');
        const capacity = where === 'shared' ? 10 : 5;
        assert.ok(replayed < capacity, `the farmer got ${replayed} of the bucket's ${capacity}`);
        assert.equal(l.state().shared, where === 'shared');
      } finally {
        await proxy.close();
      }
    });

  it('SMSP-PERF-001 a clinician who asked again on the shared budget keeps her place on the local share: rotated ids the shared budget made known are forgotten there before her when Redis goes (hostile review atk21c F3)', async () => {
    const { l, proxy, moved } = await throughProxy('know-order:', { maxKnownUsers: 3 });
    try {
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true, 'made known');
      assert.equal(await l.tryAcquire('interactive', 'a', 'her'), true, 'and back: she asks again');
      // Three rotated ids made known on the shared budget (its newcomers' part, 20), each known on
      // the local share too. At the bound (3) each budget forgets an id that never came back first
      // (on the old rule the local share filed her with them, the oldest: forgotten first).
      for (let i = 0; i < 3; i++) assert.equal(await l.tryAcquire('interactive', 'a', `farmed-${i}`), true);
      proxy.cut();
      await moved(false);
      // Locally 20 tokens less half what the shared budget granted (15): a rotation takes the
      // newcomers' part (10, 5 ids, each forgetting another rotated id) and nothing spare below 10.
      for (let i = 0; i < 30; i++) await l.tryAcquire('interactive', 'a', `rotated-${i}`);
      assert.equal(
        await l.tryAcquire('interactive', 'a', 'her'),
        true,
        'still known here: her part, from the lower half',
      );
    } finally {
      await proxy.close();
    }
  });

  it('SMSP-PERF-001 one call lets go of at most 200 users who fell silent, oldest first: a client of 20,000 silent at once held Redis, and every gateway, 165 ms (hostile review atk21d N2)', async () => {
    const l = await createSharedRateLimiter({
      redisUrl: redis.url,
      keyPrefix: `${redis.prefix}letgo:`,
      perSecond: 100_000,
      burst: 100_000,
      localFallbackShare: 0.5,
      shares: { a: 1 },
      userShare: 0.1,
      userKeySecret: SECRET,
      // Long enough that making 450 known twice (900 round trips) ends well inside it on a loaded machine.
      sharingMs: 2000,
    });
    open.push(l);
    const sharing = `${redis.prefix}letgo:sharing:a`;
    const client = new Redis(redis.url);
    try {
      // Each made known, then asks again: 450 sharing.
      for (let i = 0; i < 450; i++) await l.tryAcquire('interactive', 'a', `u${i}`);
      for (let i = 0; i < 450; i++) await l.tryAcquire('interactive', 'a', `u${i}`);
      assert.equal(await client.zcard(sharing), 450);
      // Redis's own clock passes their sharing time; then one known user asks.
      const until = Date.now() + 2050;
      while (Date.now() < until) await client.ping();
      await l.tryAcquire('interactive', 'a', 'u0');
      assert.equal(await client.zcard(sharing), 450 - 200 + 1, 'let go of 200, and she shares again');
      await l.tryAcquire('interactive', 'a', 'u1');
      assert.equal(await client.zcard(sharing), 450 - 400 + 2);
    } finally {
      client.disconnect();
    }
  });

  it('SMSP-PERF-001 the busy tone says when to retry, from the shared bucket', async () => {
    const l = await gateway('retry:', 1, {});
    assert.equal(await l.tryAcquire('interactive'), true);
    assert.equal(await l.tryAcquire('interactive'), true);
    assert.equal(await l.tryAcquire('interactive'), false);
    // One token at 0.001 a second: 1000 s.
    assert.equal(await l.retryAfterSeconds('interactive'), 1000);
  });
});
