/**
 * The erasure's schedule (FGMISQR009): at the top of every UK hour (UK midnight among them), on the days the clocks change too,
 * driven by an injected clock and a recording timer (no real waiting). Expected instants are
 * written out by hand: UK midnight is 00:00 UTC in GMT and 23:00 UTC the day before in BST;
 * in 2026 BST starts at 01:00 UTC on 29 March and ends at 01:00 UTC on 25 October.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atEveryUkHour, msToNextUkHour, msToNextUkMidnight } from './uk-day.ts';

const H = 3_600_000;
const at = (iso: string) => new Date(iso);

describe('FGMISQR009 the erasure runs at the top of every UK hour', () => {
  it('FGMISQR009 the next UK midnight, in GMT, in BST and across both changes', () => {
    assert.equal(msToNextUkMidnight(at('2026-01-15T12:00:00Z')), 12 * H, 'GMT: 00:00 UTC');
    assert.equal(msToNextUkMidnight(at('2026-07-15T12:00:00Z')), 11 * H, 'BST: 23:00 UTC');
    assert.equal(msToNextUkMidnight(at('2026-07-15T23:00:00Z')), 24 * H, 'at BST midnight: the next one');
    assert.equal(msToNextUkMidnight(at('2026-07-15T22:59:59.999Z')), 1, 'a millisecond before');
    assert.equal(msToNextUkMidnight(at('2026-03-29T00:00:00Z')), 23 * H, 'Sunday 29 March is 23 hours long');
    assert.equal(msToNextUkMidnight(at('2026-03-28T12:00:00Z')), 12 * H, 'the Saturday before: midnight is still GMT');
    assert.equal(msToNextUkMidnight(at('2026-10-24T23:00:00Z')), 25 * H, 'Sunday 25 October is 25 hours long');
    assert.equal(msToNextUkMidnight(at('2026-10-25T00:30:00Z')), 23.5 * H, '01:30 BST on the 25th, before the change');
    assert.equal(msToNextUkMidnight(at('2026-10-25T12:00:00Z')), 12 * H, 'after the change: 00:00 UTC');
  });

  it('FGMISQR009 the next top of a UK hour: whole hours, in GMT and BST', () => {
    assert.equal(msToNextUkHour(at('2026-01-15T12:00:00Z')), H, 'on the hour: the next one');
    assert.equal(msToNextUkHour(at('2026-01-15T12:59:59.999Z')), 1, 'a millisecond before');
    assert.equal(msToNextUkHour(at('2026-07-15T22:30:00Z')), H / 2, '23:30 BST: UK midnight in half an hour');
  });

  it('FGMISQR009 runs at the top of each UK hour, UK midnight included, across the March change, re-armed from the clock, and stops', () => {
    let clock = at('2026-03-28T22:30:00Z');
    const armed: number[] = [];
    let pending: (() => void) | undefined;
    const runs: string[] = [];
    const timers = {
      set: (f: () => void, ms: number) => (armed.push(ms), (pending = f)),
      clear: () => (pending = undefined),
    };
    const task = atEveryUkHour(
      () => clock,
      () => runs.push(clock.toISOString()),
      timers,
    );
    // Fire each timer at the instant it was armed for (the clock moves as the timer said).
    const fire = () => {
      clock = new Date(clock.getTime() + armed.at(-1)!);
      pending!();
    };
    for (let i = 0; i < 4; i++) fire();
    // 23:00 GMT, UK midnight of 29 March (00:00 UTC), then 01:00 UTC is 02:00 BST: the hour 01:00 UK never exists that day.
    assert.deepEqual(runs, [
      '2026-03-28T23:00:00.000Z',
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
    assert.deepEqual(armed, [H / 2, H, H, H, H]);
    // A timer that fires late: the next is armed for the next hour's top, not an hour on.
    clock = new Date(clock.getTime() + armed.at(-1)! + 20 * 60_000);
    pending!();
    assert.equal(armed.at(-1), 40 * 60_000);
    task.stop();
    assert.equal(pending, undefined, 'stopped: no timer left');
  });

  it('FGMISQR009 in October: BST midnight, then both 01:00 hours of the 25-hour day', () => {
    let clock = at('2026-10-24T22:30:00Z');
    const runs: string[] = [];
    let next: { f: () => void; ms: number } | undefined;
    const task = atEveryUkHour(
      () => clock,
      () => runs.push(clock.toISOString()),
      { set: (f: () => void, ms: number) => (next = { f, ms }), clear: () => (next = undefined) },
    );
    for (let i = 0; i < 4; i++) {
      clock = new Date(clock.getTime() + next!.ms);
      next!.f();
    }
    // 23:00 UTC is UK midnight of 25 October (BST); 00:00 UTC is 01:00 BST, 01:00 UTC is 01:00 GMT.
    assert.deepEqual(runs, [
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    task.stop();
    const stopped = next;
    assert.equal(stopped, undefined);
  });
});
