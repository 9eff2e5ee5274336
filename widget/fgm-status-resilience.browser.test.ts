/// <reference types="mocha" />
// What keeps a real indicator up when things go wrong around it (issue 18 review): a bad
// maxAnswerAge, a failed first query, a gateway or tokenProvider that never answers, a sleep, the
// same patient written otherwise, a narrow screen, a heading level removed.
import { expect, fixture, html } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import './define.ts';
import { FgmStatus } from './fgm-status.ts';
import type { FgmStatusErrorDetail } from './fgm-status.ts';
import {
  answerWith,
  clockAt,
  double,
  frame,
  isEmpty,
  mount,
  realClock,
  text,
  usualAnswers,
} from '../test/widget-double/harness.ts';

const HOUR = 3_600_000;
const SPINE_TIME = '2026-07-01T13:14:15.000Z';
const SPINE = Date.parse(SPINE_TIME);
const DEFAULT_MAX_ANSWER_AGE = FgmStatus.maxAnswerAge;
const requests = async () => (await double('requests')).length as number;
const alert = (el: FgmStatus) => el.shadowRoot!.querySelector('[role="alert"]');
/** The gateway's answer when Spine's rate limit is reached (docs/operating.md, "Protecting Spine and surviving its outages"). */
const BUSY = {
  status: 'error',
  nhsNumber: '9990000018',
  assessmentDate: null,
  checkedAt: null,
  messageId: null,
  code: 'SPINE_BUSY',
  smspCode: 'SMSP-LOCAL-0429',
  display: 'Spine busy',
};
const EXPIRED = {
  status: 'error',
  nhsNumber: null,
  assessmentDate: null,
  checkedAt: null,
  messageId: null,
  code: 'AUTHOR_CREDENTIALS_ERROR',
  smspCode: 'SMSP-0005',
  display: 'Author credentials error',
};

beforeEach(() => double('reset'));
afterEach(async () => {
  realClock();
  FgmStatus.maxAnswerAge = DEFAULT_MAX_ANSWER_AGE;
  await double('release'); // a request a test left held
});

describe('<fgm-status> maxAnswerAge', () => {
  for (const bad of [0, -1, NaN, undefined, Infinity, null]) {
    it(`FGMISQ0011 ignores maxAnswerAge = ${String(bad)} (keeps 24 h) and still shows an indicator`, async () => {
      FgmStatus.maxAnswerAge = bad as number;
      expect(FgmStatus.maxAnswerAge).to.equal(24 * HOUR);
      const c = await clockAt(SPINE_TIME, SPINE);
      const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
      expect((await outcome).status).to.equal('indicator');
      c.moveTo(SPINE + 12 * HOUR - 1);
      await el.updateComplete;
      expect(alert(el)).to.exist;
      expect(await requests()).to.equal(1, 'no query loop');
    });
  }

  it('FGMISQ0011 clamps a maxAnswerAge below 2 minutes to 2 minutes, and asks again no sooner than a minute', async () => {
    FgmStatus.maxAnswerAge = 1;
    expect(FgmStatus.maxAnswerAge).to.equal(120_000);
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    c.moveTo(SPINE + 60_000 - 1);
    await el.updateComplete;
    expect(alert(el)).to.exist;
    expect(await requests()).to.equal(1);
  });
});

describe('<fgm-status> after a failure', () => {
  it('MSCA-FGMRISQR-04 a first query that cannot reach Spine is retried after 5 s, 15 s, 60 s, then every 5 minutes, telling IT each time', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, seen } = await mount({ nhs: '9990000018', born: '2014-03-02', token: 'spine-down' });
    while (seen.errors.length < 1) await frame();
    let at = SPINE;
    for (const [n, wait] of [5e3, 15e3, 60e3, 300e3, 300e3].entries()) {
      c.moveTo(at + wait - 1);
      expect(await requests()).to.equal(n + 1, `no retry ${n + 1} before ${wait} ms`);
      at += wait;
      c.moveTo(at);
      while (seen.errors.length < n + 2) await frame();
      expect(await requests()).to.equal(n + 2);
    }
    expect(seen.errors.every((e) => e.code === 'COULD_NOT_CONNECT_TO_SPINE')).to.equal(true);
    // The host hands over another token: asked at once (no 5-minute wait), the indicator shows.
    el.token = 'clinician';
    while (!alert(el)) await frame();
    expect(await requests()).to.equal(7, 'the new token asked at once');
  });

  it('MSCA-FGMRISQR-04 another patient starts the retries afresh: 5 s after its first failure, not the 5 minutes the last patient had reached', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, seen } = await mount({ nhs: '9990000018', born: '2014-03-02', token: 'spine-down' });
    let at = SPINE;
    for (const [n, wait] of [0, 5e3, 15e3, 60e3].entries()) {
      c.moveTo((at += wait));
      while (seen.errors.length < n + 1) await frame();
    }
    el.setAttribute('nhs-number', '9990000042');
    while (seen.errors.length < 5) await frame();
    expect((await double('requests')).at(-1).nhsNumber).to.equal('9990000042');
    c.moveTo(at + 5_000);
    while ((await requests()) < 6) await frame();
    expect((await double('requests')).at(-1).nhsNumber).to.equal('9990000042');
  });

  it('MSCA-FGMRISQR-04 a 429 SPINE_BUSY is retried after its Retry-After (within 5 s to 5 minutes), not at once and not in 12 h', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    await answerWith(429, BUSY, { 'Retry-After': '30' });
    const { seen } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    while (seen.errors.length < 1) await frame();
    expect(seen.errors[0]).to.include({ code: 'SPINE_BUSY', httpStatus: 429 });
    c.moveTo(SPINE + 30_000 - 1);
    expect(await requests()).to.equal(1);
    await answerWith(429, BUSY, { 'Retry-After': '86400' });
    c.moveTo(SPINE + 30_000);
    while (seen.errors.length < 2) await frame();
    c.moveTo(SPINE + 30_000 + 300_000 - 1);
    expect(await requests()).to.equal(2, "a day's Retry-After is bounded to 5 minutes");
    await usualAnswers();
    c.moveTo(SPINE + 30_000 + 300_000);
    while (seen.changes.at(-1)!.status !== 'indicator') await frame();
  });

  it('MSCA-FGMRISQR-01 a tokenProvider that throws, then gives nothing, is asked again after 5 s and 15 s; its token then shows the indicator', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const el = document.createElement('fgm-status');
    const errors: string[] = [];
    el.addEventListener('fgm-status-error', (e) => errors.push(e.detail.code));
    let calls = 0;
    el.tokenProvider = async () => {
      calls++;
      if (calls === 1) throw new Error('session service down');
      return calls === 2 ? '' : 'clinician';
    };
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    el.setAttribute('nhs-number-verified', '');
    document.body.append(el);
    while (errors.length < 1) await frame();
    c.moveTo(SPINE + 5_000);
    while (errors.length < 2) await frame();
    expect(errors).to.deep.equal(['NO_SESSION_TOKEN', 'NO_SESSION_TOKEN']);
    c.moveTo(SPINE + 20_000);
    while (!alert(el)) await frame();
    expect(calls).to.equal(3);
    expect(await requests()).to.equal(1);
    el.remove();
  });

  it('MSCA-FGMRISQR-01 after a failure, a new token or tokenProvider asks again at once', async () => {
    await clockAt(SPINE_TIME, SPINE);
    const { el, seen } = await mount({ nhs: '9990000018', born: '2014-03-02', token: 'receptionist' });
    while (seen.errors.length < 1) await frame();
    expect(seen.errors[0]!.code).to.equal('ACCESS_DENIED');
    el.tokenProvider = async () => 'clinician';
    while (!alert(el)) await frame();
    expect((await double('requests')).map((r: { authorization: string }) => r.authorization)).to.deep.equal([
      'Bearer receptionist',
      'Bearer clinician',
    ]);
  });

  it('MSCA-FGMRISQR-07 a 401 on a refresh (the session expired) keeps the last confirmed indicator up, marked, and retries after 5 s', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    await answerWith(401, EXPIRED);
    c.moveTo(SPINE + 12 * HOUR);
    while (seen.errors.length < 1) await frame();
    await el.updateComplete;
    expect(seen.errors[0]).to.include({ code: 'AUTHOR_CREDENTIALS_ERROR', httpStatus: 401 });
    expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
    await usualAnswers();
    c.moveTo(SPINE + 12 * HOUR + 5_000);
    while (text(el).includes('Last confirmed')) await frame();
    expect(text(el)).to.contain('Checked with Spine');
    expect(await requests()).to.equal(3);
  });

  it('MSCA-FGMRISQR-07 refresh() asks again at once; one that cannot reach Spine keeps the indicator, marked', async () => {
    await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    el.token = 'spine-down'; // no failure yet: a new token alone does not ask
    await el.updateComplete;
    expect(await requests()).to.equal(1);
    el.refresh();
    while (seen.errors.length < 1) await frame();
    await el.updateComplete;
    expect(await requests()).to.equal(2);
    expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
  });

  it('MSCA-FGMRISQR-04 a gateway that does not answer within 30 s is GATEWAY_UNREACHABLE: the request is aborted and retried', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { seen } = await mount({ nhs: '9990000069', born: '2015-05-05' });
    while (!(await double('held')).held) await frame();
    c.moveTo(SPINE + 30_000 - 1);
    await frame();
    expect(seen.errors).to.deep.equal([]);
    c.moveTo(SPINE + 30_000);
    while (seen.errors.length < 1) await frame();
    expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_UNREACHABLE' }]);
    expect(await double('release')).to.deep.equal({ released: true, aborted: true });
    c.moveTo(SPINE + 35_000);
    while ((await requests()) < 2) await frame();
  });

  it('MSCA-FGMRISQR-04 a tokenProvider that never settles is NO_SESSION_TOKEN after 30 s', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const el = document.createElement('fgm-status');
    const errors: FgmStatusErrorDetail[] = [];
    el.addEventListener('fgm-status-error', (e) => errors.push(e.detail));
    el.tokenProvider = () => new Promise<string>(() => {});
    el.setAttribute('birth-date', '2014-03-02');
    el.setAttribute('nhs-number', '9990000018');
    el.setAttribute('nhs-number-verified', '');
    document.body.append(el);
    await el.updateComplete;
    c.moveTo(SPINE + 30_000);
    while (errors.length < 1) await frame();
    expect(errors).to.deep.equal([{ code: 'NO_SESSION_TOKEN' }]);
    expect(await requests()).to.equal(0);
    el.remove();
  });
});

describe('<fgm-status> the wall clock and the same patient', () => {
  it('MSCA-FGMRISQR-08 after a sleep past its 24 h (timers stalled), a return to the tab takes the indicator down and asks again', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    el.token = 'spine-down';
    c.jumpTo(SPINE + 25 * HOUR); // no timer ran
    document.dispatchEvent(new Event('visibilitychange'));
    await el.updateComplete;
    expect(isEmpty(el), 'down at once').to.equal(true);
    while (seen.errors.length < 1) await frame();
    expect(await requests()).to.equal(2);
    await el.updateComplete;
    expect(isEmpty(el), 'not back as last confirmed').to.equal(true);
  });

  it('MSCA-FGMRISQR-08 pageshow (a page restored) also asks again when a refresh is due', async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    c.jumpTo(SPINE + 13 * HOUR);
    await double(`spine-time?at=${new Date(SPINE + 13 * HOUR).toISOString()}`);
    window.dispatchEvent(new Event('pageshow'));
    while (seen.changes.length < 2) await frame();
    expect(seen.changes[1]).to.include({ status: 'indicator', checkedAt: new Date(SPINE + 13 * HOUR).toISOString() });
    await el.updateComplete;
    expect(alert(el)).to.exist;
  });

  it("MSCA-FGMRISQR-06 the same patient's number re-set as 999 000 0018 keeps the alert as it is: not taken down, not asked or announced again", async () => {
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    await el.updateComplete;
    const shown = alert(el);
    el.setAttribute('nhs-number', '999 000 0018');
    await el.updateComplete;
    expect(alert(el) === shown, 'the same alert, still up').to.equal(true);
    el.setAttribute('nhs-number', '9990000018');
    await el.updateComplete;
    await frame();
    expect(alert(el) === shown, 'the same alert, still up').to.equal(true);
    expect(await requests()).to.equal(1);
    expect(seen.changes.length).to.equal(1);
  });
  it("MSCA-FGMRISQR-07 a refresh that confirms the same indicator leaves the alert's text untouched: a live region announces what changes, so nothing is said again", async () => {
    await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    await el.updateComplete;
    const shown = alert(el);
    const records: MutationRecord[] = [];
    const written = new MutationObserver((r) => records.push(...r));
    written.observe(el.shadowRoot!, { subtree: true, childList: true, characterData: true });
    el.refresh();
    while (seen.changes.length < 2) await frame();
    await el.updateComplete;
    expect(seen.changes[1]).to.deep.equal(seen.changes[0], 'the same answer');
    expect(alert(el) === shown, 'the same alert, still up').to.equal(true);
    written.disconnect();
    expect(records.concat(written.takeRecords()).length).to.equal(0, 'no text or node written');
  });
});

describe('<fgm-status> on a strict host page', () => {
  it('MSCA-FGMRISQR-01 shows the indicator on a page that enforces Trusted Types and allows no policy: the alert is built without an HTML sink', async () => {
    const frame = document.createElement('iframe');
    frame.src = '/__double/csp.html?trusted-types';
    document.body.append(frame);
    try {
      await new Promise((r) => frame.addEventListener('load', r, { once: true }));
      const w = frame.contentWindow as unknown as { violations: string[]; outcome?: string; document: Document };
      while (!w.outcome) await new Promise((r) => requestAnimationFrame(r));
      const el = w.document.querySelector('fgm-status')!;
      await el.updateComplete;
      expect(w.outcome).to.equal('indicator');
      expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
      expect(w.violations).to.deep.equal([]);
    } finally {
      frame.remove();
    }
  });
});

describe('<fgm-status> layout and heading', () => {
  for (const marked of [false, true]) {
    it(`WCAG 1.4.10 at 320 CSS px with 24 px gutters and a 19 px body font, nothing overflows the card or the page${marked ? ' (marked last confirmed)' : ''}`, async () => {
      await setViewport({ width: 320, height: 800 });
      try {
        const wrapper = await fixture<HTMLDivElement>(html`<div style="padding: 0 24px; font-size: 19px">
          <fgm-status nhs-number="9990000018" nhs-number-verified birth-date="2014-03-02" .token=${'clinician'}></fgm-status>
        </div>`);
        const el = wrapper.querySelector('fgm-status')!;
        while (!alert(el)) await frame();
        if (marked) {
          el.token = 'spine-down';
          const failed = new Promise((r) => el.addEventListener('fgm-status-error', r, { once: true }));
          el.refresh();
          await failed;
          expect(text(el)).to.contain('Last confirmed');
        }
        await el.updateComplete;
        await frame();
        const page = document.documentElement;
        expect(page.scrollWidth).to.be.at.most(page.clientWidth, 'no horizontal scroll');
        const card = alert(el)!.getBoundingClientRect();
        expect(card.right).to.be.at.most(wrapper.getBoundingClientRect().right - 24 + 0.5, 'card within the gutter');
        for (const part of el.shadowRoot!.querySelectorAll('[role="alert"] *')) {
          if (part.classList.contains('vh')) continue;
          expect(part.getBoundingClientRect().right).to.be.at.most(
            card.right + 0.5,
            `${part.tagName} ${part.textContent} fits`,
          );
          expect(part.scrollWidth).to.be.at.most(
            part.clientWidth || part.scrollWidth,
            `${part.tagName} ${part.textContent} not clipped`,
          );
        }
      } finally {
        await setViewport({ width: 800, height: 600 });
      }
    });
  }

  it('a heading-level removed, or outside 1 to 6, falls back to 3', async () => {
    const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    await outcome;
    const level = async () => (
      await el.updateComplete,
      el.shadowRoot!.querySelector('[role="heading"]')!.getAttribute('aria-level')
    );
    for (const [value, expected] of [
      ['2', '2'],
      [null, '3'],
      ['9', '3'],
      ['0', '3'],
      ['two', '3'],
      ['6', '6'],
      ['2.5', '3'],
    ] as const) {
      if (value === null) el.removeAttribute('heading-level');
      else el.setAttribute('heading-level', value);
      expect(await level(), String(value)).to.equal(expected);
    }
  });
});
