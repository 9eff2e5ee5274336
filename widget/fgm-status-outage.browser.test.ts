/// <reference types="mocha" />
// Issue 18, review 18f: a confirmed alert is never taken down because Spine could not be asked
// again (SMSP-0002 or SMSP-0004 on a re-check), and an error answer is used only when its code,
// smspCode and messageId have their documented form (F10).
import { expect } from '@open-wc/testing';
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
const SPINE_TIME = '2026-07-01T13:14:15.000Z';
const SPINE = Date.parse(SPINE_TIME);
const MESSAGE_ID = '6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f';
const DEFAULT_MAX_ANSWER_AGE = FgmStatus.maxAnswerAge;
const requests = async () => (await double('requests')).length as number;
const alert = (el: FgmStatus) => el.shadowRoot!.querySelector('[role="alert"]');

/** An error answer as the gateway's widget API writes it (docs/api.md), for 9990000018. */
const error = (code: string, smspCode: string, change: Record<string, unknown> = {}) => ({
  status: 'error',
  nhsNumber: '9990000018',
  assessmentDate: null,
  checkedAt: null,
  messageId: MESSAGE_ID,
  code,
  smspCode,
  display: 'Text',
  ...change,
});

beforeEach(() => double('reset'));
afterEach(() => {
  realClock();
  FgmStatus.maxAnswerAge = DEFAULT_MAX_ANSWER_AGE;
});

describe('<fgm-status> Spine unreachable after a confirmed alert', () => {
  // The SMSP error table's rows, written here: RESPONSE_MESSAGE_VALIDATION_ERROR is what a gateway
  // answered for a proxy's error page before review 18f F3, COULD_NOT_CONNECT_TO_SPINE what it answers now.
  for (const [httpStatus, code, smspCode] of [
    [400, 'RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002'],
    [500, 'COULD_NOT_CONNECT_TO_SPINE', 'SMSP-0004'],
  ] as const) {
    it(`MSCA-FGMRISQR-07 FGMISQR010 a re-check answered ${httpStatus} ${code} (${smspCode}) keeps the alert, marked "could not check again", retries after 5 s, 15 s and 60 s, and shows it confirmed once Spine answers`, async () => {
      const c = await clockAt(SPINE_TIME, SPINE);
      const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
      expect((await outcome).status).to.equal('indicator');
      expect(text(el)).to.contain('Checked with Spine');
      await answerWith(httpStatus, error(code, smspCode));
      el.refresh();
      while (seen.errors.length < 1) await frame();
      await el.updateComplete;
      expect(seen.errors[0]).to.deep.equal({ code, smspCode, httpStatus, messageId: MESSAGE_ID });
      expect(alert(el), 'the confirmed alert stays up').to.exist;
      expect(el.getAttribute('state')).to.equal('indicator');
      expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
      expect(text(el)).to.contain('NHS number 999 000 0018');
      expect(text(el)).to.contain('Assessment date 10/12/2019');
      // Marked with when Spine last confirmed it, not the time of the failed re-check.
      expect(el.shadowRoot!.querySelector(`time[datetime="${SPINE_TIME}"]`)).to.exist;
      let at = SPINE;
      for (const [n, wait] of [5e3, 15e3, 60e3].entries()) {
        c.moveTo(at + wait - 1);
        expect(await requests()).to.equal(n + 2, `no retry ${n + 1} before ${wait} ms`);
        at += wait;
        c.moveTo(at);
        while (seen.errors.length < n + 2) await frame();
        await el.updateComplete;
        expect(await requests()).to.equal(n + 3, `retry ${n + 1} at ${wait} ms`);
        expect(alert(el), `still up after retry ${n + 1}`).to.exist;
        expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
      }
      await usualAnswers();
      c.moveTo(at + 300e3);
      while (text(el).includes('Last confirmed')) await frame();
      expect(text(el)).to.contain('Checked with Spine');
      expect(seen.changes.at(-1)!.status).to.equal('indicator');
    });
  }

  it("FGMISQ0011 MSCA-FGMRISQR-08 an alert kept through SMSP-0002 re-checks is still down 24 h after Spine's timestamp for it", async () => {
    const c = await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    await answerWith(400, error('RESPONSE_MESSAGE_VALIDATION_ERROR', 'SMSP-0002'));
    c.moveTo(SPINE + 12 * HOUR);
    while (seen.errors.length < 1) await frame();
    await el.updateComplete;
    expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
    await stopAsking(el, seen);
    c.moveTo(SPINE + 24 * HOUR - 1);
    await el.updateComplete;
    expect(alert(el), 'up 1 ms before 24 h').to.exist;
    c.moveTo(SPINE + 24 * HOUR);
    await el.updateComplete;
    expect(isEmpty(el), "down 24 h after Spine's timestamp").to.equal(true);
  });

  it('MSCA-FGMRISQR-03 a refusal on a re-check (403 ACCESS_DENIED) still takes the alert down at once: only "could not check" keeps it', async () => {
    await clockAt(SPINE_TIME, SPINE);
    const { el, seen, outcome } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    expect((await outcome).status).to.equal('indicator');
    await answerWith(403, error('ACCESS_DENIED', 'SMSP-LOCAL-0403', { messageId: null }));
    el.refresh();
    while (seen.errors.length < 1) await frame();
    await el.updateComplete;
    expect(isEmpty(el)).to.equal(true);
  });
});

describe('<fgm-status> error answers checked too (review 18f F10)', () => {
  /** Mounts 9990000018 with the gateway answering `body` under `httpStatus`; resolves once it has answered. */
  async function answeredWith(body: unknown, httpStatus: number) {
    await clockAt(SPINE_TIME, SPINE + 60_000);
    await answerWith(httpStatus, body);
    const mounted = await mount({ nhs: '9990000018', born: '2014-03-02' });
    await mounted.outcome;
    await mounted.el.updateComplete;
    return mounted;
  }

  const refused: [string, unknown][] = [
    ['a code in lower case', error('could_not_connect_to_spine', 'SMSP-0004')],
    ['a code with markup', error('<img src=x onerror=alert(1)>', 'SMSP-0004')],
    ['a code that is a sentence', error('Could not connect to Spine', 'SMSP-0004')],
    ['an empty code', error('', 'SMSP-0004')],
    ['an smspCode in lower case', error('COULD_NOT_CONNECT_TO_SPINE', 'smsp-0004')],
    ['an smspCode with a space', error('COULD_NOT_CONNECT_TO_SPINE', 'SMSP 0004')],
    ['an smspCode naming a child', error('COULD_NOT_CONNECT_TO_SPINE', 'NHS number 999 000 0018')],
    ['an empty smspCode', error('COULD_NOT_CONNECT_TO_SPINE', '')],
    ['a messageId that is not a UUID', error('COULD_NOT_CONNECT_TO_SPINE', 'SMSP-0004', { messageId: 'msg-50' })],
    [
      'a messageId with a UUID and more',
      error('COULD_NOT_CONNECT_TO_SPINE', 'SMSP-0004', { messageId: `${MESSAGE_ID} 9990000018` }),
    ],
    ['a messageId as a JSON number', error('COULD_NOT_CONNECT_TO_SPINE', 'SMSP-0004', { messageId: 42 })],
  ];
  for (const [what, body] of refused) {
    it(`MSCA-FGMRISQR-04 GATEWAY_BAD_RESPONSE, nothing shown and the host told, for an error answer with ${what}`, async () => {
      const { el, seen } = await answeredWith(body, 400);
      expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_BAD_RESPONSE', httpStatus: 400 }]);
      expect(seen.changes).to.deep.equal([{ status: 'error', nhsNumber: '9990000018' }]);
      expect(isEmpty(el)).to.equal(true);
    });
  }

  // The vocabulary's own forms must still reach IT as they are: refusing them would hide the real cause.
  const kept: [string, number, Record<string, unknown>][] = [
    ['an SMSP code and a UUID', 500, error('COULD_NOT_CONNECT_TO_SPINE', 'SMSP-0004')],
    [
      'an upper-case UUID',
      500,
      error('COULD_NOT_CONNECT_TO_SPINE', 'SMSP-0004', { messageId: MESSAGE_ID.toUpperCase() }),
    ],
    ["Spine's ASID code 300", 403, error('ASID_CHECK_FAILED', '300')],
    ['a local code of three parts', 403, error('CLIENT_DISABLED', 'SMSP-LOCAL-0403-CLIENT', { messageId: null })],
    ['an FGM code and no messageId', 400, error('INVALID_NHS_NUMBER', 'FGM-0002', { messageId: undefined })],
  ];
  for (const [what, httpStatus, body] of kept) {
    it(`MSCA-FGMRISQR-04 an error answer with ${what} reaches the host as it is`, async () => {
      const { seen } = await answeredWith(body, httpStatus);
      const { code, smspCode, messageId } = body as { code: string; smspCode: string; messageId?: string | null };
      expect(seen.errors[0]).to.deep.equal({ code, smspCode, httpStatus, ...(messageId ? { messageId } : {}) });
    });
  }
});
