/// <reference types="mocha" />
// The hostile review of the element (hw2): a host clearing the patient or the gateway, a body cut
// off mid-way, pre-rendered shadow markup, events fired before the DOM shows them, a urid that
// cannot be sent.
import { expect } from '@open-wc/testing';
import './define.ts';
import type { FgmStatus } from './fgm-status.ts';
import type { FgmStatusChangeDetail } from './fgm-status.ts';
import { answerWith, clockAt, double, frame, mount, realClock, text } from '../test/widget-double/harness.ts';

const SPINE_TIME = '2026-07-01T13:14:15.000Z';
const SPINE = Date.parse(SPINE_TIME);
const requests = async () => (await double('requests')).length as number;
const alerts = (el: FgmStatus) => el.shadowRoot!.querySelectorAll('[role="alert"]').length;
/** The widget API's indicator for 9990000018 (docs/api.md, "POST /api/fgm-status"). */
const INDICATOR = {
  status: 'indicator',
  nhsNumber: '9990000018',
  assessmentDate: '2019-12-10',
  checkedAt: SPINE_TIME,
  messageId: 'msg-18',
  code: 'SUCCESS',
  smspCode: 'SMSP-0000',
  display: 'Success',
};
const NO_RECORD = {
  ...INDICATOR,
  status: 'no-record',
  assessmentDate: null,
  code: 'NO_RECORD_FOUND',
  smspCode: 'FGM-0001',
  display: 'No Record Found',
};

beforeEach(() => double('reset'));
afterEach(() => realClock());

/** An element showing 9990000018's indicator, its events recorded. */
async function showing() {
  const mounted = await mount({ nhs: '9990000018', born: '2014-03-02' });
  expect((await mounted.outcome).status).to.equal('indicator');
  await mounted.el.updateComplete;
  expect(alerts(mounted.el)).to.equal(1);
  return mounted;
}

describe('<fgm-status> a host that clears the patient', () => {
  const clears: [string, (el: FgmStatus) => void, string][] = [
    ["removeAttribute('nhs-number')", (el) => el.removeAttribute('nhs-number'), 'INVALID_NHS_NUMBER'],
    ['nhsNumber = null', (el) => ((el as { nhsNumber: unknown }).nhsNumber = null), 'INVALID_NHS_NUMBER'],
    ['nhsNumber = undefined', (el) => ((el as { nhsNumber: unknown }).nhsNumber = undefined), 'INVALID_NHS_NUMBER'],
    // A number loses the text the NHS number is (a leading zero, its check): not read as one.
    [
      'nhsNumber = 9990000018, a number',
      (el) => ((el as { nhsNumber: unknown }).nhsNumber = 9990000018),
      'INVALID_NHS_NUMBER',
    ],
    ["removeAttribute('birth-date')", (el) => el.removeAttribute('birth-date'), 'MISSING_BIRTH_DATE'],
  ];
  for (const [what, clear, code] of clears) {
    it(`MSCA-FGMRISQ-05 MSCA-FGMRISQR-03 ${what} takes the previous patient's alert down at once and reports ${code}`, async () => {
      const { el, seen } = await showing();
      clear(el);
      await el.updateComplete; // rejects if willUpdate threw
      expect(alerts(el)).to.equal(0);
      expect(el.hasAttribute('state')).to.equal(false);
      while (seen.changes.length < 2) await frame();
      expect(seen.changes.at(-1)).to.deep.equal({
        status: 'error',
        nhsNumber: '' + (code == 'MISSING_BIRTH_DATE' ? '9990000018' : ''),
      });
      expect(seen.errors.map((e) => e.code)).to.deep.equal([code]);
      expect(await requests()).to.equal(1, 'nothing asked');
    });
  }

  it("MSCA-FGMRISQ-05 removeAttribute('gateway') takes the alert down at once and asks the page's own origin, as a missing gateway does", async () => {
    const { el, seen } = await showing();
    el.setAttribute('gateway', `${location.origin}/`);
    while (seen.changes.length < 2) await frame();
    el.removeAttribute('gateway');
    await el.updateComplete;
    expect(alerts(el)).to.equal(0, 'down while it asks the other gateway');
    while (seen.changes.length < 3) await frame();
    expect(seen.changes.at(-1)!.status).to.equal('indicator');
    expect(await requests()).to.equal(3);
  });
});

describe('<fgm-status> a body that does not arrive whole', () => {
  it('MSCA-FGMRISQR-04 a connection dropped mid-body is GATEWAY_UNREACHABLE and retried after 5 s, as an outage is', async () => {
    const c = await clockAt(SPINE_TIME, SPINE + 60_000);
    await answerWith(200, INDICATOR, {}, 'drop');
    const { el, seen } = await mount({ nhs: '9990000018', born: '2014-03-02' });
    while (!seen.errors.length) await frame();
    expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_UNREACHABLE' }]);
    await answerWith(200, INDICATOR);
    c.moveTo(SPINE + 65_000);
    while (!alerts(el)) await frame();
    expect(await requests()).to.equal(2);
  });

  it('MSCA-FGMRISQR-07 FGMISQR010 a refresh whose body is cut off keeps the confirmed indicator up, "Last confirmed by Spine (could not check again)"', async () => {
    await clockAt(SPINE_TIME, SPINE + 60_000);
    await answerWith(200, INDICATOR);
    const { el, seen } = await showing();
    await answerWith(200, INDICATOR, {}, 'drop');
    el.refresh();
    while (!seen.errors.length) await frame();
    expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_UNREACHABLE' }]);
    expect(alerts(el)).to.equal(1);
    expect(text(el)).to.contain('Last confirmed by Spine (could not check again)');
  });

  it('MSCA-FGMRISQR-04 a body that stalls past the 30 s deadline after its headers is GATEWAY_UNREACHABLE, and retried', async () => {
    const c = await clockAt(SPINE_TIME, SPINE + 60_000);
    await answerWith(200, INDICATOR, {}, 'stall');
    // Tells the test when the element's request has its headers, so the deadline falls mid-body.
    const real = window.fetch;
    let headers!: () => void;
    const arrived = new Promise<void>((r) => (headers = r));
    window.fetch = (...args) => real(...args).then((res) => (res.url.endsWith('/api/fgm-status') && headers(), res));
    try {
      const { el, seen } = await mount({ nhs: '9990000018', born: '2014-03-02' });
      await arrived;
      c.moveTo(SPINE + 90_000);
      while (!seen.errors.length) await frame();
      expect(seen.errors).to.deep.equal([{ code: 'GATEWAY_UNREACHABLE' }]);
      window.fetch = real;
      await answerWith(200, INDICATOR);
      c.moveTo(SPINE + 95_000);
      while (!alerts(el)) await frame();
    } finally {
      window.fetch = real;
    }
  });
});

describe('<fgm-status> pre-rendered shadow markup', () => {
  it("MSCA-FGMRISQR-03 FGMISQR003 markup pre-rendered into its shadow root (another patient's alert) is removed: one alert, the patient asked about", async () => {
    const host = document.createElement('div');
    document.body.append(host);
    try {
      host.setHTMLUnsafe(
        `<fgm-status nhs-number="9990000018" birth-date="2014-03-02" nhs-number-verified state="indicator"><template shadowrootmode="open"><div role="alert" part="base"><div role="heading">FGM risk indicator</div><dl><dt>NHS number</dt><dd>999 000 0042</dd></dl></div></template></fgm-status>`,
      );
      const el = host.querySelector('fgm-status')!;
      expect(el.shadowRoot!.adoptedStyleSheets.length).to.be.above(0, "the element's styles kept");
      expect(alerts(el)).to.equal(0, 'gone before any answer');
      const changed = new Promise((r) => el.addEventListener('fgm-status-change', r, { once: true }));
      el.token = 'clinician';
      await changed;
      expect(alerts(el)).to.equal(1);
      expect(text(el).match(/\d{3} \d{3} \d{4}/g)).to.deep.equal(['999 000 0018']);
    } finally {
      host.remove();
    }
  });
});

describe('<fgm-status> fgm-status-change and the DOM', () => {
  /** What a listener sees when each change fires: its status, an alert or not, the state attribute. */
  const watch = (el: FgmStatus) => {
    const at: [string, number, string | null][] = [];
    el.addEventListener('fgm-status-change', (e: CustomEvent<FgmStatusChangeDetail>) =>
      at.push([e.detail.status, alerts(el), el.getAttribute('state')]),
    );
    return at;
  };

  it('MSCA-FGMRISQR-01 at an indicator event the alert and state="indicator" are there; at a no-record event after a refresh they are gone; once each', async () => {
    const host = document.createElement('div');
    document.body.append(host);
    try {
      const el = document.createElement('fgm-status');
      const at = watch(el);
      Object.assign(el, {
        nhsNumber: '9990000018',
        birthDate: '2014-03-02',
        nhsNumberVerified: true,
        token: 'clinician',
      });
      host.append(el);
      while (!at.length) await frame();
      expect(at).to.deep.equal([['indicator', 1, 'indicator']]);
      await answerWith(404, NO_RECORD);
      el.refresh();
      while (at.length < 2) await frame();
      await el.updateComplete;
      expect(at).to.deep.equal([
        ['indicator', 1, 'indicator'],
        ['no-record', 0, null],
      ]);
    } finally {
      host.remove();
    }
  });
});

describe('<fgm-status> urid', () => {
  it('SMSP-AUDIT-002 a urid with a newline is refused before sending (INVALID_URID), never retried; a valid one then asks at once', async () => {
    const c = await clockAt(SPINE_TIME, SPINE + 60_000);
    const host = document.createElement('div');
    document.body.append(host);
    try {
      const el = document.createElement('fgm-status');
      const errors: string[] = [];
      el.addEventListener('fgm-status-error', (e) => errors.push(e.detail.code));
      Object.assign(el, {
        nhsNumber: '9990000018',
        birthDate: '2014-03-02',
        nhsNumberVerified: true,
        token: 'clinician',
        urid: '555254242106\nX-Other: 1',
      });
      host.append(el);
      while (!errors.length) await frame();
      expect(errors).to.deep.equal(['INVALID_URID']);
      c.moveTo(SPINE + 60_000 + 600_000);
      expect(await requests()).to.equal(0, 'nothing sent, no retry');
      el.urid = '555254242106';
      while (!alerts(el)) await frame();
      expect((await double('requests'))[0].urid).to.equal('555254242106');
    } finally {
      host.remove();
    }
  });
});
