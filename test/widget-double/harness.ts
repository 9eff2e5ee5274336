/**
 * @module test/widget-double/harness
 * What the element's browser test files share: the gateway double's controls, mounting an element
 * with its events recorded, and reading what it shows.
 */
import { fixture, html } from '@open-wc/testing';
import { fakeClock, type FakeClock } from './fake-clock.ts';
import type { FgmStatus } from '../../widget/fgm-status.ts';
import type { FgmStatusChangeDetail, FgmStatusErrorDetail } from '../../widget/fgm-status.ts';

export interface Seen {
  changes: FgmStatusChangeDetail[];
  errors: FgmStatusErrorDetail[];
}

/** Calls one of the double's controls (test/widget-double/gateway-double.mjs). */
export const double = async (path: string) => (await fetch(`/__double/${path}`)).json();

/**
 * Makes the double send this answer, as the gateway's widget API would, until the next test (a
 * header null: none sent). `cut`: only the headers and the body's start, then the connection
 * dropped ('drop') or held open ('stall').
 */
export const answerWith = (
  status: number,
  body: unknown,
  headers: Record<string, string | null> = {},
  cut?: 'drop' | 'stall',
) => fetch('/__double/answer', { method: 'POST', body: JSON.stringify({ status, body, headers, cut }) });
/** Back to the double's own answers, by NHS number. */
export const usualAnswers = () => fetch('/__double/answer', { method: 'POST', body: 'null' });

let clock: FakeClock | undefined;
/**
 * The double's answers carry Spine's timestamp `spineTime` and the gateway's `Date` header
 * `gatewayAge` ms after it (0 unless said), and the page's clock reads `now` (a minute after
 * Spine's timestamp unless said) and moves only when the test moves it. Undo with `realClock()`.
 */
export async function clockAt(
  spineTime: string,
  now = Date.parse(spineTime) + 60_000,
  gatewayAge = 0,
): Promise<FakeClock> {
  await double(`spine-time?at=${encodeURIComponent(spineTime)}&age=${gatewayAge}`);
  clock?.restore();
  clock = fakeClock(now);
  return clock;
}
/** Puts the real clock back (in an afterEach: a failed test must not leave it fake). */
export function realClock() {
  clock?.restore();
  clock = undefined;
}

/** Mounts the element with events recorded from the very first one (some fire during the first update). */
export async function mount(attrs: {
  nhs: string;
  born?: string;
  token?: string;
}): Promise<{ el: FgmStatus; seen: Seen; outcome: Promise<FgmStatusChangeDetail> }> {
  const seen: Seen = { changes: [], errors: [] };
  let resolve!: (d: FgmStatusChangeDetail) => void;
  const outcome = new Promise<FgmStatusChangeDetail>((r) => (resolve = r));
  const wrapper = await fixture<HTMLDivElement>(html`<div
    @fgm-status-change=${(e: CustomEvent<FgmStatusChangeDetail>) => {
      seen.changes.push(e.detail);
      resolve(e.detail);
    }}
    @fgm-status-error=${(e: CustomEvent<FgmStatusErrorDetail>) => seen.errors.push(e.detail)}
  >
    <fgm-status nhs-number=${attrs.nhs} nhs-number-verified birth-date=${attrs.born ?? ''} .token=${attrs.token ?? 'clinician'}></fgm-status>
  </div>`);
  return { el: wrapper.querySelector('fgm-status')!, seen, outcome };
}

/**
 * After a failed refresh: its retries reach no gateway from now on (a tokenProvider that fails, so
 * NO_SESSION_TOKEN; the marked indicator stays), so none of them lands in the next test's count.
 */
export async function stopAsking(el: FgmStatus, seen: Seen) {
  const n = seen.errors.length;
  el.tokenProvider = () => Promise.reject(new Error('no session'));
  while (seen.errors.length === n) await frame();
}

export const frame = () => new Promise((r) => requestAnimationFrame(r));
export const text = (el: Element) => el.shadowRoot!.textContent!.replace(/\s+/g, ' ').trim();
export const isEmpty = (el: FgmStatus) =>
  el.shadowRoot!.querySelector('*') === null && el.getBoundingClientRect().height === 0;
