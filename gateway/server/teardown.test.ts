import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTeardown, startOrClose } from './teardown.ts';

/** A start of `steps` steps where step `failAt` throws (none when 0); returns what was closed, in order. */
async function start(steps: number, failAt: number): Promise<{ closed: number[]; error: unknown }> {
  const teardown = createTeardown();
  const closed: number[] = [];
  let error: unknown;
  await startOrClose(teardown, async () => {
    for (let k = 1; k <= steps; k++) {
      if (k === failAt) throw new Error(`step ${k} failed`);
      teardown.add(`step ${k}`, () => void closed.push(k));
    }
  }).catch((e: unknown) => (error = e));
  return { closed, error };
}

describe('teardown', () => {
  it("a failure in step k closes exactly steps k-1..1, in reverse order, and throws the step's own error", async () => {
    for (const k of [1, 2, 4, 5]) {
      const { closed, error } = await start(5, k);
      assert.deepEqual(
        closed,
        Array.from({ length: k - 1 }, (_, i) => k - 1 - i),
        `failure in step ${k}`,
      );
      assert.equal((error as Error).message, `step ${k} failed`);
    }
  });

  it('a start that succeeds closes nothing until close(), then everything last first, once', async () => {
    const teardown = createTeardown();
    const closed: string[] = [];
    await startOrClose(teardown, async () => {
      for (const name of ['store', 'spine', 'listener']) teardown.add(name, async () => void closed.push(name));
    });
    assert.deepEqual(closed, []);
    await Promise.all([teardown.close(), teardown.close()]);
    await teardown.close();
    assert.deepEqual(closed, ['listener', 'spine', 'store']);
  });

  it('a part that fails to close does not stop the others; the first failure is thrown, named', async () => {
    const teardown = createTeardown();
    const closed: string[] = [];
    teardown.add('store', () => void closed.push('store'));
    teardown.add('spine', () => {
      throw new Error('socket busy');
    });
    teardown.add('listener', () => void closed.push('listener'));
    await assert.rejects(teardown.close(), { message: 'spine: socket busy' });
    assert.deepEqual(closed, ['listener', 'store']);
  });

  it('a part opened after teardown began is refused, not leaked silently', async () => {
    const teardown = createTeardown();
    await teardown.close();
    assert.throws(() => teardown.add('late', () => {}), /late opened after teardown began/);
  });
});
