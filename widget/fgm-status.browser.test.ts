/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import './define.ts';
import { FgmStatus } from './fgm-status.ts';
import type { FgmStatusChangeDetail, FgmStatusErrorDetail } from './fgm-status.ts';
import { ukToday } from './format.ts';
import { clockAt, double, frame, isEmpty, mount, realClock, stopAsking, text } from '../test/widget-double/harness.ts';

/** YYYY-MM-DD for `years` ago today, shifted by `days` (UK calendar). */
function bornYearsAgo(years: number, days = 0): string {
  const [y, m, d] = ukToday().split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y - years, m - 1, d + days)).toISOString().slice(0, 10);
}

const DEFAULT_MAX_ANSWER_AGE = FgmStatus.maxAnswerAge;
const DEFAULT_TOKEN_WAIT = FgmStatus.tokenWait;
const HOUR = 3_600_000;
beforeEach(() => double('reset'));
// A test that changes them and then fails must not leave them changed for the next.
afterEach(() => {
  realClock();
  FgmStatus.maxAnswerAge = DEFAULT_MAX_ANSWER_AGE;
  FgmStatus.tokenWait = DEFAULT_TOKEN_WAIT;
});

const WCAG = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } } as never;

describe('<fgm-status>', () => {
  it('renders', async () => {
    const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect(el).to.be.instanceOf(FgmStatus);
    await outcome;
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part~="base"]')).to.exist;
  });

  it('MSCA-FGMRISQR-06 MSCA-FGMRISG-01 MSCA-FGMRISG-02 shows the alert with exactly the required content for an indicator (the NHS number as 3-3-4, the assessment date as the UK writes it)', async () => {
    await clockAt('2026-07-01T13:14:15.000Z');
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect(await outcome).to.deep.equal({
      status: 'indicator',
      nhsNumber: '9990000018',
      assessmentDate: '2019-12-10',
      checkedAt: '2026-07-01T13:14:15.000Z',
      messageId: 'msg-18',
    });
    await el.updateComplete;
    const root = el.shadowRoot!;
    // The heading is inside the announced region, so a screen reader says it with the alert.
    const heading = root.querySelector('[role="alert"] [role="heading"]')!;
    expect(heading, 'heading inside role=alert').to.exist;
    expect(heading.getAttribute('aria-level')).to.equal('3');
    expect(heading.textContent!.replace(/\s+/g, ' ').trim()).to.equal('Important: FGM risk indicator');
    expect(heading.querySelector('.vh')!.textContent).to.equal('Important: ');
    expect(root.querySelector('[role="alert"]')!.textContent).to.contain('NHS Spine FGM-IS');
    const t = text(el);
    expect(t).to.contain('NHS number 999 000 0018'); // MSCA-FGMRISG-01
    expect(t).to.contain('Assessment date 10/12/2019'); // MSCA-FGMRISG-02
    expect(t).to.contain('Checked with Spine 1/07/2026 14:14:15'); // British Summer Time
    expect(t).to.contain('Source NHS Spine FGM-IS');
    expect(t).to.match(/FGM Information Sharing \(FGM IS\) indicator/);
    // Display guidance 1.1: the indicator means the child is considered at potential risk, no more.
    expect(t).to.contain('considered at potential risk of female genital mutilation');
    expect(t).not.to.match(/family history/i);
    const [assessed, checked] = [...root.querySelectorAll('time')];
    expect(assessed!.getAttribute('datetime')).to.equal('2019-12-10');
    expect(assessed!.querySelector('.vh')!.textContent).to.equal('10 December 2019');
    expect(checked!.getAttribute('datetime')).to.equal('2026-07-01T13:14:15.000Z');
    expect(checked!.querySelector('.vh')!.textContent).to.equal('1 July 2026 at 14:14:15 BST');
    expect(root.querySelector('button')).to.equal(null, 'no dismiss button');
    expect(el.getBoundingClientRect().height).to.be.greaterThan(40);
    expect(seen.errors).to.deep.equal([]);
  });

  it('MSCA-FGMRISQR-01 shows the alert for an NHS number the host writes 3-3-4 or with stray spaces', async () => {
    for (const nhs of ['999 000 0018', ' 9990000018 ']) {
      const { el, outcome } = await mount({ nhs, born: '2014-03-02' });
      expect((await outcome).status).to.equal('indicator');
      await el.updateComplete;
      expect(el.shadowRoot!.querySelector('[role="alert"]'), nhs).to.exist;
    }
  });

  it('MSCA-FGMRISG-02 shows GMT times in winter and the NHS number on one line', async () => {
    await clockAt('2026-11-24T10:11:12.000Z');
    const { el, outcome } = await mount({ nhs: '9990000042', born: '2019-11-30' });
    await outcome;
    await el.updateComplete;
    expect(text(el)).to.contain('Checked with Spine 24/11/2026 10:11:12');
    const [nhs, , checked] = [...el.shadowRoot!.querySelectorAll('dd')];
    expect(getComputedStyle(nhs!).whiteSpace).to.equal('nowrap');
    expect(getComputedStyle(checked!).whiteSpace, 'a date and its time may wrap').to.equal('normal');
  });

  for (const [state, nhs, born, token] of [
    ['an indicator', '9990000018', '2014-03-02', 'clinician'],
    ['no record', '9990000026', '2016-07-19', 'clinician'],
    ['an error', '9990000050', '2015-05-05', 'clinician'],
    ['a refusal', '9990000018', '2014-03-02', 'receptionist'],
    ['not applicable', '9990000034', '2001-01-15', 'clinician'],
  ] as const) {
    it(`is accessible with ${state} (axe, WCAG 2.2 A/AA)`, async () => {
      const { el, outcome } = await mount({ nhs, born, token });
      await outcome;
      await el.updateComplete;
      await expect(el).to.be.accessible(WCAG);
    });
  }

  it('is accessible while it waits for a token, and with the heading level a host page needs', async () => {
    const el = await fixture<FgmStatus>(
      html`<div><h1>Patient</h1><fgm-status nhs-number="9990000018" nhs-number-verified birth-date="2014-03-02" heading-level="2"></fgm-status></div>`,
    );
    await expect(el).to.be.accessible(WCAG);
    const shown = new Promise((r) => el.addEventListener('fgm-status-change', r, { once: true }));
    el.querySelector('fgm-status')!.token = 'clinician';
    await shown;
    await el.querySelector('fgm-status')!.updateComplete;
    expect(
      el.querySelector('fgm-status')!.shadowRoot!.querySelector('[role="heading"]')!.getAttribute('aria-level'),
    ).to.equal('2');
    await expect(el).to.be.accessible({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    } as never);
  });

  for (const width of [320, 360]) {
    it(`WCAG 1.4.10 reflows at ${width} CSS px: nothing lost, no horizontal scroll, still accessible`, async () => {
      await setViewport({ width, height: 800 });
      try {
        const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
        await outcome;
        await el.updateComplete;
        await frame();
        const page = document.documentElement;
        expect(page.scrollWidth).to.be.at.most(page.clientWidth, 'no horizontal scroll');
        for (const part of el.shadowRoot!.querySelectorAll('[role="alert"] *')) {
          if (part.classList.contains('vh')) continue; // visually hidden by design
          expect(part.getBoundingClientRect().right).to.be.at.most(
            el.getBoundingClientRect().right + 0.5,
            `${part.tagName} ${part.textContent} fits`,
          );
          expect(part.scrollWidth).to.be.at.most(
            part.clientWidth || part.scrollWidth,
            `${part.tagName} ${part.textContent} not clipped`,
          );
        }
        expect(text(el)).to.match(/Checked with Spine \d{1,2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}/);
        await expect(el).to.be.accessible(WCAG);
      } finally {
        await setViewport({ width: 800, height: 600 });
      }
    });
  }

  it('NO_SESSION_TOKEN: a host that never gives a token hears so after tokenWait, and a late token still works', async () => {
    FgmStatus.tokenWait = 50;
    const el = document.createElement('fgm-status');
    const error = new Promise<FgmStatusErrorDetail>((r) =>
      el.addEventListener('fgm-status-error', (e) => r(e.detail), { once: true }),
    );
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    el.setAttribute('nhs-number-verified', '');
    document.body.append(el);
    expect(await error).to.deep.equal({ code: 'NO_SESSION_TOKEN' });
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
    expect(await double('requests')).to.deep.equal([]);
    const shown = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    el.token = 'clinician';
    expect((await shown).detail.status).to.equal('indicator');
    el.remove();
  });

  it('waits tokenWait (5 s by default) before NO_SESSION_TOKEN, and says nothing if a token comes in time', async () => {
    expect(DEFAULT_TOKEN_WAIT).to.equal(5000);
    FgmStatus.tokenWait = 300;
    const el = document.createElement('fgm-status');
    const errors: string[] = [];
    el.addEventListener('fgm-status-error', (e) => errors.push(e.detail.code));
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    el.setAttribute('nhs-number-verified', '');
    document.body.append(el);
    await el.updateComplete;
    const shown = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    el.token = 'clinician';
    expect((await shown).detail.status).to.equal('indicator');
    // A second element without a token, connected later, times out later than the first would
    // have: once it has, the first's wait must have been cancelled by its token.
    const other = document.createElement('fgm-status');
    const timedOut = new Promise((r) => other.addEventListener('fgm-status-error', r, { once: true }));
    other.setAttribute('birth-date', '2014-03-02');
    other.setAttribute('nhs-number', '9990000026');
    other.setAttribute('nhs-number-verified', '');
    document.body.append(other);
    await timedOut;
    expect(errors).to.deep.equal([]);
    el.remove();
    other.remove();
  });

  it('takes a tokenProvider set on the element before its definition loaded (upgrade)', async () => {
    // A tag not yet defined, as when the host's framework renders before the module arrives.
    const el = document.createElement('fgm-status-late') as FgmStatus;
    el.tokenProvider = async () => 'clinician';
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    el.setAttribute('nhs-number-verified', '');
    const shown = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    document.body.append(el);
    customElements.define('fgm-status-late', class extends FgmStatus {});
    expect((await shown).detail.status).to.equal('indicator');
    expect((await double('requests'))[0].authorization).to.equal('Bearer clinician');
    el.remove();
  });

  it('MSCA-FGMRISQR-03 renders nothing and takes no space when there is no record', async () => {
    const { el, seen, outcome } = await mount({ nhs: '9990000026', born: '2016-07-19' });
    expect((await outcome).status).to.equal('no-record');
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
    expect(seen.errors).to.deep.equal([]);
  });

  for (const [nhs, code, httpStatus, smspCode] of [
    ['9990000050', 'COULD_NOT_CONNECT_TO_SPINE', 500, 'SMSP-0004'],
    ['9990000077', 'RESPONSE_MESSAGE_VALIDATION_ERROR', 400, 'SMSP-0002'],
  ] as const) {
    it(`MSCA-FGMRISQR-04 ${code}: nothing shown, an error event for IT without patient data`, async () => {
      const { el, seen, outcome } = await mount({ nhs, born: '2015-05-05' });
      expect((await outcome).status).to.equal('error');
      await el.updateComplete;
      expect(isEmpty(el)).to.equal(true);
      expect(seen.errors).to.deep.equal([
        { code, smspCode, httpStatus, messageId: `00000000-0000-4000-8000-0000000000${nhs.slice(-2)}` },
      ]);
      expect(JSON.stringify(seen.errors)).not.to.contain(nhs);
    });
  }

  it('MSCA-FGMRISQR-04 a refused user sees nothing; the host hears ACCESS_DENIED', async () => {
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02', token: 'receptionist' });
    expect((await outcome).status).to.equal('error');
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
    expect(seen.errors[0]!.code).to.equal('ACCESS_DENIED');
  });

  it('never shows an indicator the gateway sent for another patient', async () => {
    const { el, seen, outcome } = await mount({ nhs: '9990000107', born: '2015-05-05' });
    expect((await outcome).status).to.equal('error');
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
    expect(seen.errors[0]!.code).to.equal('GATEWAY_BAD_RESPONSE');
  });

  for (const [why, nhs, born, expected] of [
    [
      'an invalid NHS number (SMSP-VAL-002)',
      '9990000019',
      '2014-03-02',
      { status: 'error', code: 'INVALID_NHS_NUMBER' },
    ],
    ['a patient of 18 or over (MSCA-FGMRISQ-04)', '9990000034', '2001-01-15', { status: 'not-applicable' }],
    [
      'a patient whose 18th birthday is today (MSCA-FGMRISQ-04)',
      '9990000018',
      bornYearsAgo(18),
      { status: 'not-applicable' },
    ],
    ['no birth date', '9990000018', '', { status: 'error', code: 'MISSING_BIRTH_DATE' }],
  ] as const) {
    it(`makes no request at all for ${why}`, async () => {
      const { el, seen, outcome } = await mount({ nhs, born });
      expect((await outcome).status).to.equal(expected.status);
      if ('code' in expected) expect(seen.errors.map((e) => e.code)).to.deep.equal([expected.code]);
      await el.updateComplete;
      expect(await double('requests')).to.deep.equal([]);
      expect(isEmpty(el)).to.equal(true);
    });
  }

  it('MSCA-FGMRISQ-04 does query the day before an 18th birthday', async () => {
    const { outcome } = await mount({ nhs: '9990000026', born: bornYearsAgo(18, 1) });
    expect((await outcome).status).to.equal('no-record');
    expect((await double('requests')).length).to.equal(1);
  });

  it('MSCA-FGMRISQ-05 queries again, once, when the patient changes, sending the token as a bearer', async () => {
    const { el, outcome } = await mount({ nhs: '9990000026', born: '2016-07-19' });
    await outcome;
    const next = new Promise((r) => el.addEventListener('fgm-status-change', r, { once: true }));
    el.setAttribute('nhs-number', '9990000042');
    el.setAttribute('nhs-number-verified', '');
    el.setAttribute('birth-date', '2019-11-30');
    await next;
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
    const requests = await double('requests');
    expect(requests.map((r: { nhsNumber: string }) => r.nhsNumber)).to.deep.equal(['9990000026', '9990000042']);
    expect(requests[1].authorization).to.equal('Bearer clinician');
    expect(requests[1].birthDate).to.equal('2019-11-30');
  });

  it("a patient switch while a request is in flight never shows the first patient's answer", async () => {
    const { el, seen } = await mount({ nhs: '9990000069', born: '2015-05-05' });
    // wait until the held request has reached the double
    while (!(await double('held')).held) await new Promise((r) => requestAnimationFrame(r));
    const second = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    el.setAttribute('nhs-number', '9990000026');
    el.setAttribute('nhs-number-verified', '');
    el.setAttribute('birth-date', '2016-07-19');
    expect((await second).detail).to.include({ status: 'no-record', nhsNumber: '9990000026' });
    const release = await double('release');
    expect(release).to.deep.equal({ released: true, aborted: true }, 'the first request was aborted');
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
    expect(seen.changes.map((c) => c.nhsNumber)).to.deep.equal(['9990000026']);
  });

  it('MSCA-FGMRISQR-01 moved in the page while it asks, it asks again and shows the answer', async () => {
    const { el } = await mount({ nhs: '9990000069', born: '2015-05-05' });
    while (!(await double('held')).held) await frame();
    const elsewhere = document.createElement('div');
    document.body.append(elsewhere);
    const shown = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    elsewhere.append(el); // disconnected (its request aborted) and connected again
    while ((await double('requests')).length < 2) await frame();
    expect(await double('release')).to.deep.equal({ released: true, aborted: false });
    expect((await shown).detail.status).to.equal('indicator');
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
    elsewhere.remove();
  });

  it('asks nothing while off the page; a patient set meanwhile is asked about once it is back', async () => {
    const { el, outcome } = await mount({ nhs: '9990000026', born: '2016-07-19' });
    await outcome;
    const parent = el.parentElement!;
    el.remove();
    el.setAttribute('nhs-number', '9990000042');
    el.setAttribute('nhs-number-verified', '');
    el.setAttribute('birth-date', '2019-11-30');
    await el.updateComplete;
    expect((await double('requests')).length).to.equal(1, 'no request while removed');
    const next = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    parent.append(el);
    expect((await next).detail).to.include({ status: 'indicator', nhsNumber: '9990000042' });
    expect((await double('requests')).map((r: { nhsNumber: string }) => r.nhsNumber)).to.deep.equal([
      '9990000026',
      '9990000042',
    ]);
  });

  it('MSCA-FGMRISQR-08 asks again at half of maxAnswerAge (12 h) after a fresh answer; a refresh it cannot confirm takes the indicator down', async () => {
    const arrived = Date.parse('2026-07-01T13:14:15.000Z');
    const c = await clockAt('2026-07-01T13:14:15.000Z', arrived); // the answer arrives at Spine's timestamp
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    el.token = 'receptionist'; // by the time of the refresh, the session no longer allows it
    c.moveTo(arrived + 12 * HOUR - 1);
    expect((await double('requests')).length).to.equal(1, 'no refresh before 12 h');
    c.moveTo(arrived + 12 * HOUR);
    while (seen.errors.length === 0) await frame();
    await el.updateComplete;
    expect(seen.errors[0]!.code).to.equal('ACCESS_DENIED');
    expect(isEmpty(el)).to.equal(true);
    expect((await double('requests')).map((r: { authorization: string }) => r.authorization)).to.deep.equal([
      'Bearer clinician',
      'Bearer receptionist',
    ]);
  });

  it("MSCA-FGMRISQR-07 FGMISQR010 FGMISQ0011 a refresh that cannot reach Spine keeps the last confirmed indicator, marked, until 24 h after Spine's timestamp for it, not after it arrived", async () => {
    const spineTime = Date.parse('2026-07-01T13:14:15.000Z');
    // The answer is an hour old on the gateway's clock when it arrives.
    const c = await clockAt('2026-07-01T13:14:15.000Z', spineTime + HOUR, HOUR);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    el.token = 'spine-down'; // the refresh, halfway through the 23 h it had left, finds Spine unreachable
    c.moveTo(spineTime + HOUR + 11.5 * HOUR);
    while (seen.errors.length === 0) await frame();
    await el.updateComplete;
    expect(seen.errors[0]!.code).to.equal('COULD_NOT_CONNECT_TO_SPINE');
    expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
    await stopAsking(el, seen);
    // Marked with when Spine last confirmed it: the first answer's time, not the failed refresh's.
    expect(el.shadowRoot!.querySelector('time[datetime="2026-07-01T13:14:15.000Z"]')).to.exist;
    c.moveTo(spineTime + 24 * HOUR - 1);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]'), 'still up 1 ms before 24 h').to.exist;
    c.moveTo(spineTime + 24 * HOUR);
    await el.updateComplete;
    expect(isEmpty(el), "down 24 h after Spine's timestamp").to.equal(true);
    expect((await double('requests')).length).to.equal(2);
  });

  it('MSCA-FGMRISDQ-01 FGMISQ003 MSCA-FGMRISQ-03 asks nothing until the host marks the NHS number verified, and tells it; allow-unverified is the explicit opt-out', async () => {
    const el = document.createElement('fgm-status');
    el.token = 'clinician';
    const errors: string[] = [];
    el.addEventListener('fgm-status-error', (e) => errors.push(e.detail.code));
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    document.body.append(el);
    while (errors.length === 0) await frame();
    await el.updateComplete;
    expect(errors).to.deep.equal(['NHS_NUMBER_NOT_VERIFIED']);
    expect(await double('requests')).to.deep.equal([]);
    expect(isEmpty(el)).to.equal(true);
    const shown = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      el.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    el.setAttribute('nhs-number-verified', '');
    expect((await shown).detail.status).to.equal('indicator');
    // The host withdraws verification (e.g. the PDS trace is questioned): the alert comes down.
    el.removeAttribute('nhs-number-verified');
    while (errors.length < 2) await frame();
    await el.updateComplete;
    expect(errors[1]).to.equal('NHS_NUMBER_NOT_VERIFIED');
    expect(isEmpty(el)).to.equal(true);
    const other = document.createElement('fgm-status');
    other.token = 'clinician';
    other.setAttribute('allow-unverified', '');
    other.setAttribute('birth-date', '2014-03-02');
    other.setAttribute('nhs-number', '9990000042');
    const otherShown = new Promise<CustomEvent<FgmStatusChangeDetail>>((r) =>
      other.addEventListener('fgm-status-change', r as EventListener, { once: true }),
    );
    document.body.append(other);
    expect((await otherShown).detail.status).to.equal('indicator');
    expect((await double('requests')).map((r: { nhsNumber: string }) => r.nhsNumber)).to.deep.equal([
      '9990000018',
      '9990000042',
    ]);
    el.remove();
    other.remove();
  });

  it('asks a tokenProvider for a fresh token, and keeps the token out of the DOM and storage', async () => {
    const el = document.createElement('fgm-status');
    let calls = 0;
    el.tokenProvider = async () => `secret-token-${++calls}`;
    const done = new Promise((r) => el.addEventListener('fgm-status-change', r, { once: true }));
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    el.setAttribute('nhs-number-verified', '');
    document.body.append(el);
    await done;
    expect(calls).to.equal(1);
    expect((await double('requests'))[0].authorization).to.equal('Bearer secret-token-1');
    expect(el.outerHTML).not.to.contain('secret-token');
    expect(el.getAttribute('token')).to.equal(null);
    expect(localStorage.length + sessionStorage.length).to.equal(0);
    expect(document.cookie).to.equal('');
    el.remove();
  });

  it('SMSP-AUDIT-002 sends the urid attribute (a CIS2 selected role) as NHSD-Session-URID, and no such header without it', async () => {
    const ask = async (urid?: string) => {
      const el = document.createElement('fgm-status') as FgmStatus;
      el.token = 'clinician';
      if (urid) el.setAttribute('urid', urid);
      const done = new Promise((r) => el.addEventListener('fgm-status-change', r, { once: true }));
      for (const [k, v] of [
        ['birth-date', '2014-03-02'],
        ['nhs-number', '9990000018'],
        ['nhs-number-verified', ''],
      ])
        el.setAttribute(k!, v!);
      document.body.append(el);
      await done;
      el.remove();
    };
    await ask('555021936108');
    await ask();
    const requests = await double('requests');
    expect(requests[0].urid).to.equal('555021936108');
    expect(requests[1]).not.to.have.property('urid');
  });

  it("renders under Content-Security-Policy default-src 'self' with no violation", async () => {
    const frame = document.createElement('iframe');
    frame.src = '/__double/csp.html';
    document.body.append(frame);
    await new Promise((r) => frame.addEventListener('load', r, { once: true }));
    const w = frame.contentWindow as unknown as { violations: string[]; outcome?: string; document: Document };
    while (!w.outcome) await new Promise((r) => requestAnimationFrame(r));
    const el = w.document.querySelector('fgm-status')!;
    await el.updateComplete;
    expect(w.outcome).to.equal('indicator');
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
    expect(w.violations).to.deep.equal([]);
    frame.remove();
  });

  it('registers once and has a version', async () => {
    await import('./define.ts?again' as string);
    expect(customElements.get('fgm-status')).to.equal(FgmStatus);
    expect(FgmStatus.version).to.match(/^\d+\.\d+\.\d+$/);
    expect(DEFAULT_MAX_ANSWER_AGE).to.equal(24 * 60 * 60 * 1000, 'answers are kept 24 hours by default');
  });
});
