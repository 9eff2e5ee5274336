/// <reference types="mocha" />
// The element trusts nothing of the gateway's answer it cannot check (issue 18): each malformed
// field is GATEWAY_BAD_RESPONSE and shows nothing; an indicator is kept at most 24 h after Spine's
// timestamp, whatever maxAnswerAge says; and nothing of an answer is stored in the browser.
import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import './define.ts';
import { FgmStatus } from './fgm-status.ts';
import {
  answerWith,
  clockAt,
  double,
  frame,
  isEmpty,
  mount,
  realClock,
  stopAsking,
  text,
  usualAnswers,
} from '../test/widget-double/harness.ts';

const HOUR = 3_600_000;
/** What test/widget-double/browser-storage.mjs reports. */
interface Stored {
  cookies: unknown[];
  usage: Record<string, number>;
}
const SPINE_TIME = '2026-07-01T13:14:15.000Z';
const SPINE = Date.parse(SPINE_TIME);

/** The widget API's answer for 9990000018 as the gateway writes it (docs/api.md, "POST /api/fgm-status"): the base each case changes. */
const indicator = (change: Record<string, unknown> = {}) => ({
  status: 'indicator',
  nhsNumber: '9990000018',
  assessmentDate: '2019-12-10',
  checkedAt: SPINE_TIME,
  messageId: 'msg-18',
  code: 'SUCCESS',
  smspCode: 'SMSP-0000',
  display: 'Success',
  ...change,
});

const DEFAULT_MAX_ANSWER_AGE = FgmStatus.maxAnswerAge;
beforeEach(() => double('reset'));
afterEach(() => {
  realClock();
  FgmStatus.maxAnswerAge = DEFAULT_MAX_ANSWER_AGE;
});

/** Mounts 9990000018 with the page's clock a minute after Spine's timestamp, the gateway answering `body` (`httpStatus`, 200 unless said); resolves once it has answered. */
async function answeredWith(body: unknown, httpStatus = 200) {
  await clockAt(SPINE_TIME, SPINE + 60_000);
  await answerWith(httpStatus, body);
  const mounted = await mount({ nhs: '9990000018', born: '2014-03-02' });
  await mounted.outcome;
  await mounted.el.updateComplete;
  return mounted;
}

describe('<fgm-status> answer checks', () => {
  // Each is one field (or the whole body) as the element must not believe it.
  // A third item is the HTTP status it comes with, 200 unless said.
  const refused: [string, unknown, number?][] = [
    ['status not one of the known values ("Indicator")', indicator({ status: 'Indicator' })],
    ['status missing', indicator({ status: undefined })],
    ['nhsNumber of another patient (FGMISQR003)', indicator({ nhsNumber: '9990000026' })],
    ['nhsNumber written 3-3-4, not the ten digits asked', indicator({ nhsNumber: '999 000 0018' })],
    ['nhsNumber as a JSON number', indicator({ nhsNumber: 9990000018 })],
    ['nhsNumber null', indicator({ nhsNumber: null })],
    [
      'assessmentDate "NONE - child not at risk (cleared)"',
      indicator({ assessmentDate: 'NONE - child not at risk (cleared)' }),
    ],
    ['assessmentDate 2019-02-30, no such day', indicator({ assessmentDate: '2019-02-30' })],
    ['assessmentDate 10/12/2019, not YYYY-MM-DD', indicator({ assessmentDate: '10/12/2019' })],
    ['assessmentDate with a time but no zone', indicator({ assessmentDate: '2019-12-10T09:30:00' })],
    ['assessmentDate with an hour 25', indicator({ assessmentDate: '2019-12-10T25:00:00Z' })],
    // The gateway sends Spine's dateTime as its UK day: a dateTime is not its answer, and its date could be a day out.
    [
      'assessmentDate a dateTime, not the UK day the gateway sends',
      indicator({ assessmentDate: '2019-12-10T09:30:00+00:00' }),
    ],
    [
      'assessmentDate a dateTime whose written date is the UK day after',
      indicator({ assessmentDate: '2019-12-10T23:30:00-05:00' }),
    ],
    // Not after the day of Spine's timestamp (1 July 2026, in UTC and in the UK), at the date's own precision.
    ["assessmentDate 2099-01-01, after Spine's timestamp", indicator({ assessmentDate: '2099-01-01' })],
    ["assessmentDate the day after Spine's timestamp", indicator({ assessmentDate: '2026-07-02' })],
    ["assessmentDate a month (2026-08) after Spine's timestamp", indicator({ assessmentDate: '2026-08' })],
    ["assessmentDate a year (2027) after Spine's timestamp", indicator({ assessmentDate: '2027' })],
    // Before 2000-01-01, the gateway's safety core's floor (gateway/spine/answer-safety.ts), at the date's own precision.
    ["assessmentDate 0000-01-01, before the gateway's floor of 2000", indicator({ assessmentDate: '0000-01-01' })],
    ['assessmentDate 0001-01-01', indicator({ assessmentDate: '0001-01-01' })],
    ['assessmentDate 1999-12-31, the day before the floor', indicator({ assessmentDate: '1999-12-31' })],
    ['assessmentDate a month (1999-12) before the floor', indicator({ assessmentDate: '1999-12' })],
    ['assessmentDate a year (1999) before the floor', indicator({ assessmentDate: '1999' })],
    ['assessmentDate null', indicator({ assessmentDate: null })],
    ['assessmentDate as a JSON number', indicator({ assessmentDate: 20191210 })],
    ['checkedAt "yesterday"', indicator({ checkedAt: 'yesterday' })],
    ['checkedAt a date, not an instant', indicator({ checkedAt: '2026-07-01' })],
    ['checkedAt without a zone', indicator({ checkedAt: '2026-07-01T13:14:15' })],
    ['checkedAt without seconds', indicator({ checkedAt: '2026-07-01T13:14Z' })],
    ['checkedAt on 31 June, no such day', indicator({ checkedAt: '2026-06-31T13:14:15Z' })],
    ['checkedAt at hour 24', indicator({ checkedAt: '2026-06-30T24:00:00Z' })],
    ['checkedAt in the HTTP date form', indicator({ checkedAt: 'Wed, 01 Jul 2026 13:14:15 GMT' })],
    ['checkedAt as epoch milliseconds', indicator({ checkedAt: SPINE })],
    ['checkedAt null', indicator({ checkedAt: null })],
    ['code missing', indicator({ code: undefined })],
    ['smspCode as a JSON number', indicator({ smspCode: 0 })],
    ['messageId an object', indicator({ messageId: { id: 'msg-18' } })],
    ['a body that is a JSON array', [indicator()]],
    ['a body that is a JSON string', 'indicator'],
    ['a body that is JSON null', null],
    [
      'a no-record answer for another patient',
      indicator({ status: 'no-record', nhsNumber: '9990000026', assessmentDate: null }),
    ],
    [
      'a no-record answer whose checkedAt is "soon"',
      indicator({ status: 'no-record', assessmentDate: null, checkedAt: 'soon' }),
    ],
    // Status, HTTP status and codes as the FGM-IS table pairs them: 200 SUCCESS SMSP-0000, 404 NO_RECORD_FOUND FGM-0001.
    ['an indicator with HTTP status 500', indicator(), 500],
    ['an indicator with HTTP status 404', indicator(), 404],
    [
      'an indicator whose code is NO_RECORD_FOUND (FGM-0001)',
      indicator({ code: 'NO_RECORD_FOUND', smspCode: 'FGM-0001' }),
    ],
    ['an indicator whose code is NO_RECORD_FOUND, its smspCode SMSP-0000', indicator({ code: 'NO_RECORD_FOUND' })],
    ['an indicator whose smspCode is FGM-0001, its code SUCCESS', indicator({ smspCode: 'FGM-0001' })],
    [
      'a no-record answer with HTTP status 200 and code SUCCESS',
      indicator({ status: 'no-record', assessmentDate: null }),
    ],
    [
      'a no-record answer with HTTP status 200',
      indicator({ status: 'no-record', assessmentDate: null, code: 'NO_RECORD_FOUND', smspCode: 'FGM-0001' }),
    ],
  ];
  for (const [what, body, httpStatus = 200] of refused) {
    it(`MSCA-FGMRISQR-04 GATEWAY_BAD_RESPONSE and nothing shown for ${what}`, async () => {
      const { el, seen } = await answeredWith(body, httpStatus);
      expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_BAD_RESPONSE', httpStatus }]);
      expect(seen.changes).to.deep.equal([{ status: 'error', nhsNumber: '9990000018' }]);
      expect(isEmpty(el)).to.equal(true);
      expect(text(el)).to.equal('');
    });
  }

  // What the widget API may carry and must still be shown: refusing it would hide a real indicator.
  const shown: [string, Record<string, unknown>, string, string][] = [
    ['the answer as the gateway writes it', {}, '10/12/2019', '1/07/2026 14:14:15'],
    [
      'a timestamp with an offset and no fraction',
      { checkedAt: '2026-07-01T14:14:15+01:00' },
      '10/12/2019',
      '1/07/2026 14:14:15',
    ],
    [
      'a timestamp to the microsecond',
      { checkedAt: '2026-07-01T13:14:15.123456Z' },
      '10/12/2019',
      '1/07/2026 14:14:15',
    ],
    [
      "an assessment on the day of Spine's timestamp",
      { assessmentDate: '2026-07-01' },
      '1/07/2026',
      '1/07/2026 14:14:15',
    ],
    // 00:30 BST on 1 July is 23:30 UTC on 30 June: the assessment that day is not "after" it.
    [
      'an assessment on the UK day of a timestamp written in UTC the day before',
      { assessmentDate: '2026-07-01', checkedAt: '2026-06-30T23:30:00Z' },
      '1/07/2026',
      '1/07/2026 00:30:00',
    ],
    // 00:30 on 1 July at +02:00 is 23:30 BST on 30 June: a date-only assessment on the date Spine
    // wrote is not after it (the gateway's safety core bounds it by the later of the two, as here).
    [
      'an assessment on the date Spine wrote a timestamp east of the UK, the UK day before',
      { assessmentDate: '2026-07-01', checkedAt: '2026-07-01T00:30:00+02:00' },
      '1/07/2026',
      '30/06/2026 23:30:00',
    ],
    [
      "an assessment month of Spine's timestamp (2026-07)",
      { assessmentDate: '2026-07' },
      '07/2026',
      '1/07/2026 14:14:15',
    ],
    // SMSP-VAL-004: a DSTU2 date may be partial; the gateway passes Spine's year or month as written.
    [
      'an assessment date of a month only (2015-02, a partial DSTU2 date)',
      { assessmentDate: '2015-02' },
      '02/2015',
      '1/07/2026 14:14:15',
    ],
    ['an assessment date of a year only (2015)', { assessmentDate: '2015' }, '2015', '1/07/2026 14:14:15'],
    ['an assessment on the floor, 2000-01-01', { assessmentDate: '2000-01-01' }, '1/01/2000', '1/07/2026 14:14:15'],
    [
      'an assessment year 2000, the floor at its own precision',
      { assessmentDate: '2000' },
      '2000',
      '1/07/2026 14:14:15',
    ],
    // The gateway only notes one before the birth date it was given: refusing it could hide a real indicator.
    [
      "an assessment (2010-05-05) before the child's birth date (2014-03-02)",
      { assessmentDate: '2010-05-05' },
      '5/05/2010',
      '1/07/2026 14:14:15',
    ],
  ];
  for (const [what, change, assessed, checked] of shown) {
    it(`MSCA-FGMRISQR-06 shows an indicator whose answer has ${what}`, async () => {
      const { el, seen } = await answeredWith(indicator(change));
      expect(seen.errors).to.deep.equal([]);
      expect(seen.changes[0]).to.include({ status: 'indicator', nhsNumber: '9990000018' });
      const [assessment, check] = [...el.shadowRoot!.querySelectorAll('time [aria-hidden="true"]')].map(
        (t) => t.textContent,
      );
      expect([assessment, check]).to.deep.equal([assessed, checked]);
    });
  }
});

describe("<fgm-status> 24 hours after Spine's timestamp", () => {
  it("FGMISQ0011 MSCA-FGMRISQR-08 by default asks again (a new query) 12 h after a fresh answer, and again 12 h after that; each fresh answer keeps the indicator up past the one before's 24 h", async () => {
    expect(DEFAULT_MAX_ANSWER_AGE).to.equal(24 * HOUR);
    const c = await clockAt(SPINE_TIME, SPINE); // the answer arrives at Spine's timestamp
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    for (const n of [1, 2]) {
      const asked = SPINE + n * 12 * HOUR;
      c.moveTo(asked - 1);
      expect((await double('requests')).length).to.equal(n, `no new query before ${n * 12} h`);
      // Spine stamps its answer to the refresh when it is asked.
      await double(`spine-time?at=${new Date(asked).toISOString()}`);
      c.moveTo(asked);
      while (seen.changes.length <= n) await frame();
      expect(seen.changes[n]).to.include({ status: 'indicator', checkedAt: new Date(asked).toISOString() });
    }
    c.moveTo(SPINE + 24 * HOUR + 1);
    await el.updateComplete;
    expect(
      el.shadowRoot!.querySelector(`time[datetime="${new Date(SPINE + 24 * HOUR).toISOString()}"]`),
      'up, as the last refresh confirmed',
    ).to.exist;
    expect((await double('requests')).length).to.equal(3);
  });

  it("MSCA-FGMRISQR-08 FGMISQR010 an answer 20 h old on the gateway's clock (its Date less checkedAt) is asked again halfway to its 4 h left, before it expires, and stays up", async () => {
    const arrived = SPINE + 20 * HOUR;
    const c = await clockAt(SPINE_TIME, arrived, 20 * HOUR);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    c.moveTo(arrived + 2 * HOUR - 1);
    expect((await double('requests')).length).to.equal(1, 'no new query before half of the 4 h it has left');
    // Spine's answer now is fresh: 2 h after its first, and the gateway's clock agrees.
    await double(`spine-time?at=${new Date(SPINE + 2 * HOUR).toISOString()}`);
    c.moveTo(arrived + 2 * HOUR);
    while (seen.changes.length < 2) await frame();
    expect(seen.changes[1]).to.include({ status: 'indicator' });
    c.moveTo(arrived + 4 * HOUR);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]'), "past the first answer's 24 h, up as the refresh confirmed")
      .to.exist;
  });

  it("MSCA-FGMRISQR-08 FGMISQ0011 a browser clock a day ahead of Spine's still shows a fresh answer: aged on the gateway's clock, kept 24 h less that age from its arrival, asked again halfway", async () => {
    const arrived = SPINE + 25 * HOUR; // this PC's clock is 25 h ahead; the gateway answered 1 min after Spine
    const c = await clockAt(SPINE_TIME, arrived, 60_000);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    expect(seen.errors).to.deep.equal([]);
    el.token = 'spine-down';
    const left = 24 * HOUR - 60_000;
    c.moveTo(arrived + left / 2 - 1);
    expect((await double('requests')).length).to.equal(1, 'no new query before half of what is left');
    c.moveTo(arrived + left / 2);
    while (seen.errors.length === 0) await frame();
    expect((await double('requests')).length).to.equal(2);
    await stopAsking(el, seen);
    c.moveTo(arrived + left - 1);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]'), "up, marked, until its 24 h on the gateway's clock").to
      .exist;
    c.moveTo(arrived + left);
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
  });

  for (const [what, date] of [
    ['no Date header', null],
    ['an unreadable Date header', 'soon'],
  ] as const) {
    it(`MSCA-FGMRISQR-08 an answer with ${what} is aged on the browser's clock: 30 h after Spine's timestamp it is GATEWAY_BAD_RESPONSE, never shown`, async () => {
      await clockAt(SPINE_TIME, SPINE + 30 * HOUR);
      await answerWith(200, indicator(), { Date: date });
      const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
      await outcome;
      await el.updateComplete;
      expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_BAD_RESPONSE', httpStatus: 200, messageId: 'msg-18' }]);
      expect(isEmpty(el)).to.equal(true);
    });

    it(`MSCA-FGMRISQR-08 an answer with ${what} 20 h after Spine's timestamp on the browser's clock is shown, and down 24 h after that timestamp when Spine cannot confirm it`, async () => {
      const c = await clockAt(SPINE_TIME, SPINE + 20 * HOUR);
      await answerWith(200, indicator(), { Date: date });
      const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
      expect((await outcome).status).to.equal('indicator');
      expect(seen.errors).to.deep.equal([]);
      // From now on Spine cannot be reached: nothing confirms it again.
      await usualAnswers();
      el.token = 'spine-down';
      c.moveTo(SPINE + 22 * HOUR);
      while (seen.errors.length === 0) await frame();
      expect(seen.errors[0]!.code).to.equal('COULD_NOT_CONNECT_TO_SPINE');
      await stopAsking(el, seen);
      c.moveTo(SPINE + 24 * HOUR - 1);
      await el.updateComplete;
      expect(el.shadowRoot!.querySelector('[role="alert"]'), "up, unconfirmed, until 24 h after Spine's timestamp").to
        .exist;
      c.moveTo(SPINE + 24 * HOUR);
      await el.updateComplete;
      expect(isEmpty(el)).to.equal(true);
    });
  }

  it("MSCA-FGMRISQR-08 an answer 30 s from its 24 h on the gateway's clock is shown 30 s and asked again no sooner than a minute after (no query loop)", async () => {
    const c = await clockAt(SPINE_TIME, SPINE, 24 * HOUR - 30_000);
    const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    c.moveTo(SPINE + 30_000);
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
    c.moveTo(SPINE + 60_000 - 1);
    expect((await double('requests')).length).to.equal(1, 'no query within the minute');
    c.moveTo(SPINE + 60_000);
    while ((await double('requests')).length < 2) await frame();
  });

  it("FGMISQ0011 MSCA-FGMRISQR-08 a maxAnswerAge above 24 h is clamped to 24 h: it asks again at 12 h and an unconfirmed indicator is down 24 h after Spine's timestamp", async () => {
    FgmStatus.maxAnswerAge = 48 * HOUR;
    expect(FgmStatus.maxAnswerAge).to.equal(24 * HOUR);
    const arrived = SPINE + HOUR;
    const c = await clockAt(SPINE_TIME, arrived, HOUR);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    el.token = 'spine-down';
    // Its refresh is due halfway through the 23 h it had left on arrival.
    c.moveTo(arrived + 11.5 * HOUR);
    while (seen.errors.length === 0) await frame();
    expect(seen.errors[0]!.code).to.equal('COULD_NOT_CONNECT_TO_SPINE');
    await stopAsking(el, seen);
    await el.updateComplete;
    expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
    c.moveTo(SPINE + 24 * HOUR - 1);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
    c.moveTo(SPINE + 24 * HOUR);
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
  });

  it("MSCA-FGMRISQR-08 an answer whose Spine timestamp is already 24 h old on the gateway's clock is GATEWAY_BAD_RESPONSE (no success code) and never shown; a second younger (Date's resolution), it is shown", async () => {
    await clockAt(SPINE_TIME, SPINE + 24 * HOUR, 24 * HOUR);
    const old = await mount({ nhs: '9990000018', born: '2014-03-02' });
    await old.outcome;
    await old.el.updateComplete;
    expect(old.seen.errors).to.deep.equal([{ code: 'GATEWAY_BAD_RESPONSE', httpStatus: 200, messageId: 'msg-18' }]);
    expect(isEmpty(old.el)).to.equal(true);
    await clockAt(SPINE_TIME, SPINE + 24 * HOUR - 1000, 24 * HOUR - 1000);
    const young = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await young.outcome).status).to.equal('indicator');
  });

  it("MSCA-FGMRISQR-08 a Spine timestamp ahead of the gateway's clock (age below 0) keeps the indicator at most 24 h from its arrival", async () => {
    const arrived = SPINE - HOUR;
    const c = await clockAt(SPINE_TIME, arrived, -HOUR);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    el.token = 'spine-down';
    c.moveTo(arrived + 12 * HOUR);
    while (seen.errors.length === 0) await frame();
    await stopAsking(el, seen);
    c.moveTo(arrived + 24 * HOUR - 1);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
    c.moveTo(arrived + 24 * HOUR);
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
  });
});

// The gateway lets Spine's timestamp be at most spine.answerTimestamp.maxAheadSeconds ahead of its
// clock (5 minutes by default, an hour at most): one further ahead of the answer's Date is not an
// answer the gateway gave.
describe("<fgm-status> Spine's timestamp ahead of the gateway's clock", () => {
  /** Mounts 9990000018 and resolves with what it showed and told once the gateway has answered. */
  async function answered() {
    const mounted = await mount({ nhs: '9990000018', born: '2014-03-02' });
    await mounted.outcome;
    await mounted.el.updateComplete;
    return mounted;
  }
  const refusal = { code: 'GATEWAY_BAD_RESPONSE', httpStatus: 200, messageId: 'msg-18' };

  it('MSCA-FGMRISQR-04 MSCA-FGMRISQR-06 a checkedAt of 2099-01-01 is GATEWAY_BAD_RESPONSE, never shown as "Checked with Spine 1 January 2099"', async () => {
    await clockAt(SPINE_TIME);
    await answerWith(200, indicator({ checkedAt: '2099-01-01T00:00:00Z' }));
    const { el, seen } = await answered();
    expect(seen.errors).to.deep.equal([refusal]);
    expect(seen.changes).to.deep.equal([{ status: 'error', nhsNumber: '9990000018', messageId: 'msg-18' }]);
    expect(isEmpty(el)).to.equal(true);
    expect(text(el)).to.equal('');
  });

  it("MSCA-FGMRISQR-04 MSCA-FGMRISQR-06 a checkedAt an hour and a second ahead of the gateway's Date (the widest maxAheadSeconds, and Date's resolution) is shown; a second further, GATEWAY_BAD_RESPONSE and nothing shown", async () => {
    await clockAt(SPINE_TIME, SPINE - HOUR, -HOUR - 1000);
    const near = await answered();
    expect(near.seen.errors).to.deep.equal([]);
    expect(near.el.shadowRoot!.querySelector(`time[datetime="${SPINE_TIME}"]`)).to.exist;
    await clockAt(SPINE_TIME, SPINE - HOUR, -HOUR - 2000);
    const far = await answered();
    expect(far.seen.errors).to.deep.equal([refusal]);
    expect(isEmpty(far.el)).to.equal(true);
  });

  it("MSCA-FGMRISQR-04 with no Date header a checkedAt over an hour ahead of the browser's clock is GATEWAY_BAD_RESPONSE; half an hour ahead, shown", async () => {
    await clockAt(SPINE_TIME, SPINE - 2 * HOUR);
    await answerWith(200, indicator(), { Date: null });
    const far = await answered();
    expect(far.seen.errors).to.deep.equal([refusal]);
    expect(isEmpty(far.el)).to.equal(true);
    await clockAt(SPINE_TIME, SPINE - HOUR / 2);
    const near = await answered();
    expect(near.seen.errors).to.deep.equal([]);
    expect(near.el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
  });
});

describe('<fgm-status> stores nothing and asks at each significant event', () => {
  it('MSCA-FGMRISQR-09 after an indicator, Chromium holds nothing of it: no localStorage, sessionStorage, IndexedDB, Cache Storage, service worker or cookie (not even one the gateway sets)', async () => {
    const before = await executeServerCommand<Stored, undefined>('browser-storage');
    expect(before.cookies).to.deep.equal([]);
    // A gateway that tried to keep the answer in a cookie: the element's requests take none.
    await answerWith(200, indicator({ checkedAt: new Date().toISOString() }), {
      'Set-Cookie': 'fgm-answer=indicator-9990000018; Path=/; Max-Age=86400',
    });
    const { el, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.exist;
    expect(localStorage.length, 'localStorage').to.equal(0);
    expect(sessionStorage.length, 'sessionStorage').to.equal(0);
    expect(await indexedDB.databases(), 'IndexedDB').to.deep.equal([]);
    expect(await caches.keys(), 'Cache Storage').to.deep.equal([]);
    expect(await navigator.serviceWorker.getRegistrations(), 'service workers').to.deep.equal([]);
    expect(document.cookie, 'document.cookie').to.equal('');
    // Chromium's own account, over the DevTools protocol: every cookie, and the origin's storage by type.
    const after = await executeServerCommand<Stored, undefined>('browser-storage');
    expect(after.cookies, 'cookies in the browser').to.deep.equal([]);
    expect(
      Object.entries(after.usage).filter(([, bytes]) => bytes > 0),
      'bytes stored for the origin',
    ).to.deep.equal([]);
  });

  it('FGMISQ007 queries for a verified under-18 patient at each significant event (each time a record view places the element), with no user action, even for the child it asked about a moment before', async () => {
    const events = [
      'registration at a GP practice',
      'unscheduled care',
      'an outpatient appointment',
      'inpatient admission',
      'discharge',
    ];
    for (const [i, event] of events.entries()) {
      const { el, outcome, seen } = await mount({ nhs: '9990000018', born: '2014-03-02' });
      expect((await outcome).status, event).to.equal('indicator');
      await el.updateComplete;
      expect(el.shadowRoot!.querySelector('[role="alert"]'), event).to.exist;
      expect(seen.errors, event).to.deep.equal([]);
      expect((await double('requests')).length, `${event}: one new query`).to.equal(i + 1);
      el.parentElement!.remove(); // the view closes
    }
    expect((await double('requests')).map((r: { nhsNumber: string }) => r.nhsNumber)).to.deep.equal(
      events.map(() => '9990000018'),
    );
  });
});
