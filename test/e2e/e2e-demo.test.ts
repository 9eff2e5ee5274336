/**
 * End to end: the demo EPR in headless Chromium, the real gateway, the real simulator over
 * TLS-MA, the built widget module served by the gateway. Nothing is mocked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'puppeteer-core';
import { DEFAULT_WIDGET_FILE } from '../../gateway/config/config.ts';
import { startDemoStack, type DemoStack } from '../../demo/stack.ts';
import { launchChromium } from '../helpers/browser.ts';
import { keptLogger } from '../helpers/run-log.ts';
import { validNhsNumbersIn } from '../helpers/stack.ts';
import { CIS2_PEOPLE } from '../../demo/cis2/users.ts';

let stack: DemoStack;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let dataDir: string;
const gatewayLogs: string[] = [];

before(async () => {
  assert.ok(
    existsSync(DEFAULT_WIDGET_FILE),
    `build the widget first (npm run build): ${DEFAULT_WIDGET_FILE} is missing`,
  );
  dataDir = mkdtempSync(join(tmpdir(), 'fgm-e2e-'));
  stack = await startDemoStack({
    dataDir,
    ports: { spine: 0, gateway: 0, epr: 0 },
    log: keptLogger(gatewayLogs, 'e2e-demo'),
  });
  chromium = await launchChromium();
});

after(async () => {
  await chromium?.close();
  await stack?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Recorded {
  type: 'change' | 'error';
  detail: Record<string, unknown>;
}

/**
 * The CIS2 person and role the smartcard sign-in chooses at the CIS2 double, by EPR choice: the
 * GP at the demo trust, and the IG officer (auditor activity) there.
 */
const CIS2_CHOICE: Record<string, { uid: string; role: string }> = {
  smartcard: { uid: CIS2_PEOPLE.patel.uid, role: CIS2_PEOPLE.patel.roles[0]!.person_roleid },
  'smartcard-auditor': { uid: CIS2_PEOPLE.igov.uid, role: CIS2_PEOPLE.igov.roles[0]!.person_roleid },
};

/**
 * A page signed in as `user`, recording the element's events from the first script on. A
 * smartcard user goes through CIS2's sign-in (the double's page: person and role), authorization
 * code + PKCE, and comes back to the EPR.
 */
async function signedIn(user: string): Promise<{ page: Page; problems: string[] }> {
  const context = await chromium.browser.createBrowserContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${(e as Error).message}`));
  page.on('console', (m) => {
    // A no-record answer is HTTP 404 by the spec's vocabulary, and Chromium logs every 4xx fetch.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { __fgm: Recorded[] };
    w.__fgm = [];
    for (const type of ['change', 'error'] as const) {
      document.addEventListener(`fgm-status-${type}`, (e) => w.__fgm.push({ type, detail: (e as CustomEvent).detail }));
    }
  });
  await page.goto(stack.eprUrl);
  const cis2 = CIS2_CHOICE[user];
  await Promise.all([page.waitForNavigation(), page.click(`button[data-user="${cis2 ? 'smartcard' : user}"]`)]);
  if (cis2) {
    assert.equal(new URL(page.url()).origin, stack.cis2Url, 'the EPR sent the browser to CIS2 to sign in');
    await Promise.all([
      page.waitForNavigation(),
      page.click(`button[data-uid="${cis2.uid}"][data-role="${cis2.role}"]`),
    ]);
    assert.equal(new URL(page.url()).origin, new URL(stack.eprUrl).origin, 'CIS2 sent the browser back to the EPR');
  }
  return { page, problems };
}

/** Opens a patient's record and waits for the element's first outcome. */
async function openRecord(page: Page, nhsNumber: string): Promise<Recorded[]> {
  await page.goto(`${stack.eprUrl}/patients/${nhsNumber}`);
  await page.waitForFunction(
    () => (window as unknown as { __fgm: Recorded[] }).__fgm.some((e) => e.type === 'change'),
    { timeout: 15_000 },
  );
  return page.evaluate(() => (window as unknown as { __fgm: Recorded[] }).__fgm);
}

async function alertText(page: Page): Promise<string | null> {
  const alert = await page.$('fgm-status >>> [role="alert"]');
  return alert
    ? alert.evaluate((el) => (el.closest('[part~="base"]') ?? el).textContent?.replace(/\s+/g, ' ').trim() ?? '')
    : null;
}

const elementHeight = (page: Page) => page.$eval('fgm-status', (el) => el.getBoundingClientRect().height);

describe('the demo EPR with the real gateway and simulator', () => {
  for (const user of ['midwife', 'smartcard']) {
    for (const [nhs, spaced, assessed] of [
      ['9990000018', '999 000 0018', '10/12/2019'],
      ['9990000042', '999 000 0042', '30/06/2024'],
    ] as const) {
      test(`MSCA-FGMRISQR-06 the ${user} sees the alert for ${nhs}`, async () => {
        const { page, problems } = await signedIn(user);
        const events = await openRecord(page, nhs);
        assert.equal(events.find((e) => e.type === 'change')?.detail.status, 'indicator');
        const text = await alertText(page);
        assert.ok(text, 'the alert is rendered');
        assert.match(text, new RegExp(spaced));
        assert.match(text, new RegExp(assessed.replace(/\//g, '\\/')));
        assert.match(text, /NHS Spine FGM-IS/);
        assert.ok((await elementHeight(page)) > 40, 'the alert takes space on the page');
        assert.deepEqual(problems, []);
        await page.browserContext().close();
      });
    }
    test(`MSCA-FGMRISQR-03 the ${user} sees nothing for 9990000026 (no record)`, async () => {
      const { page, problems } = await signedIn(user);
      const events = await openRecord(page, '9990000026');
      assert.equal(events.find((e) => e.type === 'change')?.detail.status, 'no-record');
      assert.equal(await alertText(page), null);
      assert.equal(await elementHeight(page), 0);
      assert.deepEqual(problems, []);
      await page.browserContext().close();
    });
  }

  test('MSCA-FGMRISQR-04 the receptionist sees nothing and the IT panel shows the refusal', async () => {
    const { page } = await signedIn('receptionist');
    const events = await openRecord(page, '9990000018');
    assert.equal(events.find((e) => e.type === 'change')?.detail.status, 'error');
    assert.equal(events.find((e) => e.type === 'error')?.detail.code, 'ACCESS_DENIED');
    assert.equal(await alertText(page), null);
    assert.equal(await elementHeight(page), 0);
    const report = await page.$eval('[data-testid="it-report"]', (el) => el.textContent ?? '');
    assert.match(report, /ACCESS_DENIED/);
    await page.browserContext().close();
  });

  test('MSCA-FGMRISQ-04 no query is made for a patient aged 18 or over', async () => {
    const { page } = await signedIn('midwife');
    // What the page itself sent: the gateway's log could still be writing an earlier test's line.
    const asked: string[] = [];
    page.on('request', (r) => void (r.url().includes('/api/fgm-status') && asked.push(r.url())));
    const events = await openRecord(page, '9990000034');
    assert.equal(events.find((e) => e.type === 'change')?.detail.status, 'not-applicable');
    assert.deepEqual(asked, []);
    await page.browserContext().close();
  });

  test('the demo patient page with the alert is axe clean, heading order included', async () => {
    const { page, problems } = await signedIn('midwife');
    await page.setBypassCSP(true); // axe is injected by the test, not served by the EPR
    assert.equal((await openRecord(page, '9990000018')).find((e) => e.type === 'change')?.detail.status, 'indicator');
    await page.waitForSelector('fgm-status >>> [role="alert"]');
    await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: { run(c: Document, o: object): Promise<{ violations: { id: string; nodes: unknown[] }[] }> };
        }
      ).axe;
      const r = await axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      });
      return r.violations.map((v) => `${v.id} (${v.nodes.length})`);
    });
    assert.deepEqual(violations, []);
    assert.deepEqual(problems, []);
    await page.browserContext().close();
  });

  test("the build's versioned widget URL is served immutable, and a portal page loads it with the printed integrity (SRI)", async () => {
    // The build records every release's hash; this build's version is the one the page pins.
    const record = JSON.parse(readFileSync('dist/widget/integrity.json', 'utf8')) as Record<string, string>;
    const { version } = JSON.parse(readFileSync('widget/package.json', 'utf8')) as { version: string };
    const file = `fgm-status-${version}.js`;
    const integrity = record[file]!;
    assert.match(integrity, /^sha384-/, `${file} is recorded`);
    const url = `${stack.gatewayUrl}/widget/${file}`;
    const portal = new URL(stack.eprUrl).origin;
    const res = await fetch(url, { headers: { Origin: portal } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('access-control-allow-origin'), portal, 'CORS, which crossorigin=anonymous needs');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(DEFAULT_WIDGET_FILE), 'the current build');
    assert.equal(
      (await fetch(`${stack.gatewayUrl}/widget/fgm-status.js`)).headers.get('cache-control'),
      'no-cache',
      'the unversioned URL stays current',
    );
    const missing = await fetch(`${stack.gatewayUrl}/widget/fgm-status-0.0.0.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('cache-control'), 'no-store');

    // The browser is the judge: it runs the module only if its bytes match the integrity.
    const { page, problems } = await signedIn('midwife');
    const load = (src: string, sri: string) =>
      page.evaluate(
        (src, sri) =>
          new Promise<string>((resolve) => {
            const script = Object.assign(document.createElement('script'), {
              type: 'module',
              src,
              integrity: sri,
              crossOrigin: 'anonymous',
            });
            script.addEventListener('load', () => resolve('load'));
            script.addEventListener('error', () => resolve('error'));
            document.head.append(script);
          }),
        src,
        sri,
      );
    assert.equal(await load(url, integrity), 'load');
    const wrong = `sha384-${createHash('sha384').update('another build').digest('base64')}`;
    assert.equal(await load(`${url}?again`, wrong), 'error', 'a mismatching integrity is refused');
    assert.deepEqual(
      problems.filter((p) => !/integrity/i.test(p)),
      [],
    );
    await page.browserContext().close();
  });

  test("MSCA-IG-03 the EPR shows the computer misuse warning and the user's role and organisation", async () => {
    const context = await chromium.browser.createBrowserContext();
    const page = await context.newPage();
    await page.goto(stack.eprUrl);
    assert.match(await page.$eval('body', (b) => b.textContent ?? ''), /Computer Misuse Act 1990/);
    await Promise.all([page.waitForNavigation(), page.click('button[data-user="midwife"]')]);
    const context_ = await page.$eval(
      '[data-testid="security-context"]',
      (el) => el.textContent?.replace(/\s+/g, ' ') ?? '',
    );
    assert.match(context_, /Midwife · Demo Maternity NHS Trust \(RX1\)/);
    await context.close();
  });

  test("SMSP-AUDIT-002 the smartcard user signs in with CIS2 (code + PKCE), the banner shows the role CIS2 gave, and the element's query is confirmed by CIS2", async () => {
    const { page, problems } = await signedIn('smartcard');
    const banner = await page.$eval(
      '[data-testid="security-context"]',
      (el) => el.textContent?.replace(/\s+/g, ' ') ?? '',
    );
    assert.match(
      banner,
      /Dr Sam Patel · General Medical Practitioner \(smartcard\) · Demo Maternity NHS Trust \(RX1\)/,
    );
    const before = gatewayLogs.length;
    const events = await openRecord(page, '9990000018');
    assert.equal(events.find((e) => e.type === 'change')?.detail.status, 'indicator');
    assert.ok(await alertText(page), 'the alert is rendered');
    assert.ok(
      gatewayLogs
        .slice(before)
        .some(
          (l) =>
            l.includes('/api/fgm-status') &&
            l.includes('"clientId":"demo-epr-cis2"') &&
            l.includes('"outcome":"answered"'),
        ),
      "the gateway answered the CIS2 user's query",
    );
    assert.deepEqual(problems, []);
    await page.browserContext().close();
  });

  test('MSCA-IG-03 the audit page shows the Computer Misuse Act warning and names the user, role and organisation it acts as (a CIS2 IG officer)', async () => {
    const { page } = await signedIn('smartcard-auditor');
    const opened = chromium.browser.waitForTarget(
      (t) => t.url().endsWith('/admin/audit.html') && t.browserContext() === page.browserContext(),
    );
    await page.click('#open-audit');
    const audit = (await (await opened).page())!;
    assert.match(await audit.$eval('#misuse-warning', (el) => el.textContent ?? ''), /Computer Misuse Act 1990/);
    await audit.waitForFunction(() => document.getElementById('session')?.dataset.state === 'ready');
    const acting = await audit.$eval('#acting-as', (el) => el.textContent ?? '');
    const igov = CIS2_PEOPLE.igov;
    assert.match(
      acting,
      new RegExp(
        `user ${igov.uid}\\), role profile ${igov.roles[0]!.person_roleid}, organisation RX1, .*confirmed by NHS CIS2`,
      ),
    );
    // The warning comes before the form in the page, so it is read before any search.
    assert.ok(
      await audit.evaluate(
        () =>
          document.getElementById('misuse-warning')!.compareDocumentPosition(document.getElementById('search')!) &
          Node.DOCUMENT_POSITION_FOLLOWING,
      ),
    );
    const searched = audit.waitForResponse((r) => r.url().includes('/admin/audit?'));
    await audit.type('#nhsNumber', '999 000 0018');
    await audit.click('button[type="submit"]');
    assert.equal((await searched).status(), 200);
    await page.browserContext().close();
  });

  // Runs after the clinicians' tests above, whose look-ups it searches for.
  test('SMSP-AUDIT-007 the IG officer opens the audit page from the EPR, signed in without copying a token, and finds the look-ups by an NHS number with spaces', async () => {
    const { page } = await signedIn('auditor');
    const opened = chromium.browser.waitForTarget((t) => t.url().endsWith('/admin/audit.html'));
    await page.click('#open-audit');
    const audit = (await (await opened).page())!;
    await audit.waitForFunction(() => document.getElementById('session')?.dataset.state === 'ready');
    await audit.type('#nhsNumber', '999 000 0018');
    const searched = audit.waitForResponse((r) => r.url().includes('/admin/audit?'));
    await audit.click('button[type="submit"]');
    assert.match((await searched).url(), /nhsNumber=9990000018(&|$)/, 'sent as 10 digits');
    await audit.waitForFunction(() => /records|refused/.test(document.getElementById('status')?.textContent ?? ''));
    assert.match(await audit.$eval('#status', (el) => el.textContent ?? ''), /^\d+ records$/);
    const users = await audit.$$eval('#results tbody tr', (rows) => rows.map((r) => r.children[3]?.textContent));
    assert.ok(
      users.includes('ajones') && users.includes('555021935107'),
      `midwife and smartcard user found: ${users.join(', ')}`,
    );

    // Times: UK wall-clock time, GMT or BST, with the UTC instant in datetime and the tooltip.
    const times = await audit.$$eval('#results tbody time', (ts) =>
      ts.map((t) => ({ text: t.textContent ?? '', utc: t.getAttribute('datetime') ?? '', title: t.title })),
    );
    assert.ok(times.length > 0);
    for (const { text, utc, title } of times) {
      assert.match(utc, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(title, `${utc} (UTC)`);
      const m = /(\d{2}):(\d{2}):(\d{2}) (GMT|BST)$/.exec(text);
      assert.ok(m, text);
      const offset = m[4] === 'BST' ? 1 : 0;
      assert.equal(Number(m[1]), (new Date(utc).getUTCHours() + offset) % 24, `${text} is ${utc} in UK time`);
    }

    // The session was handed over in memory only: nothing stored, nothing in the URL.
    const kept = await audit.evaluate(() => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      url: location.href,
    }));
    assert.deepEqual(kept, { local: 0, session: 0, cookie: '', url: `${stack.gatewayUrl}/admin/audit.html` });

    // From/To are UK wall-clock times: BST in July is UTC+1, GMT in January is UTC+0.
    await audit.$eval('#from', (el) => ((el as HTMLInputElement).value = '2026-07-01T10:00'));
    await audit.$eval('#to', (el) => ((el as HTMLInputElement).value = '2027-01-15T10:00'));
    const ranged = audit.waitForResponse((r) => r.url().includes('/admin/audit?'));
    await audit.click('button[type="submit"]');
    const range = new URL((await ranged).url()).searchParams;
    assert.equal(range.get('from'), '2026-07-01T09:00:00.000Z');
    assert.equal(range.get('to'), '2027-01-15T10:00:00.000Z');

    // A malformed NHS number is refused on the page, beside the field, without a search.
    await audit.$eval('#nhsNumber', (el) => ((el as HTMLInputElement).value = ''));
    await audit.type('#nhsNumber', '999 000 001');
    await audit.click('button[type="submit"]');
    assert.match(
      await audit.$eval('#nhsNumber-error', (el) => ((el as HTMLElement).hidden ? '' : (el.textContent ?? ''))),
      /10 digits/,
    );
    await page.browserContext().close();
  });

  test('the audit page opened on its own (no portal) stays locked and asks to be opened from the portal', async () => {
    const context = await chromium.browser.createBrowserContext();
    const page = await context.newPage();
    await page.goto(`${stack.gatewayUrl}/admin/audit.html`);
    assert.equal(await page.$eval('#fields', (el) => (el as HTMLFieldSetElement).disabled), true);
    assert.match(await page.$eval('#session', (el) => el.textContent ?? ''), /Open this page from your portal/);
    // NHS.UK styling from the gateway itself: the stylesheet is same-origin and applied.
    assert.equal(await page.$eval('.nhsuk-header', (el) => getComputedStyle(el).backgroundColor), 'rgb(0, 94, 184)');
    await context.close();
  });

  test('SMSP-IG-001 the audit page ignores a session posted by a portal that is not a configured client origin', async () => {
    const foreign = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      // A page at an unconfigured origin doing exactly what the EPR does.
      res.end(`<!doctype html><script>
        addEventListener('message', (m) => {
          if (m.data?.type !== 'fgm-audit-ready') return;
          m.source.postMessage({ type: 'fgm-audit-token', token: 'x.y.z' }, m.origin);
          window.sent = true;
        });
        window.audit = open(${JSON.stringify(`${stack.gatewayUrl}/admin/audit.html`)}, 'audit');
      </script>`);
    }).listen(0, '127.0.0.1');
    await once(foreign, 'listening');
    const context = await chromium.browser.createBrowserContext();
    try {
      const opener = await context.newPage();
      const opened = chromium.browser.waitForTarget(
        (t) => t.url().endsWith('/admin/audit.html') && t.browserContext() === context,
      );
      await opener.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`);
      const audit = (await (await opened).page())!;
      // The page's "ready" goes only to configured origins, so this opener never hears it: it
      // posts its token anyway, unasked, and then a probe queued behind it shows it was handled.
      await opener.evaluate(
        (gw) => (window as any).audit.postMessage({ type: 'fgm-audit-token', token: 'x.y.z' }, gw),
        new URL(stack.gatewayUrl).origin,
      );
      await audit.evaluate(
        () =>
          new Promise<void>((resolve) => {
            addEventListener('message', (m) => m.data === 'probe' && resolve());
            postMessage('probe', location.origin);
          }),
      );
      assert.equal(await audit.$eval('#fields', (el) => (el as HTMLFieldSetElement).disabled), true, 'still locked');
      assert.equal(
        await opener.evaluate(() => (window as any).sent === true),
        false,
        'the ready message was not sent to this origin',
      );
    } finally {
      await context.close();
      foreign.close();
    }
  });

  test('no valid NHS number appears in anything the gateway logged', () => {
    assert.ok(gatewayLogs.length > 0);
    assert.deepEqual(validNhsNumbersIn(gatewayLogs.join('\n')), []);
  });
});
