/**
 * @module widget/fgm-status
 * `<fgm-status>`: shows a child's NHS Spine FGM-IS indicator inside the record a clinician is
 * already looking at, and nothing at all otherwise (MSCA-FGMRISQR-01/03).
 */
import { ReactiveElement, type PropertyValues } from '@lit/reactive-element';
import {
  formatDate,
  formatDateTime,
  formatNhsNumber,
  isIsoDate,
  isUnder18,
  isValidNhsNumber,
  longDate,
  longDateTime,
  ukToday,
} from './format.ts';
import { queryFgmStatus } from './gateway-client.ts';
import { styles } from './fgm-status.styles.ts';

/** The longest MSCA-FGMRISQR-08 lets an answer be kept: 24 hours, in milliseconds. */
const DAY = 86_400_000;
/** The least maxAnswerAge may be: 2 minutes, so its half is never under the refresh floor. */
const MIN_AGE = 120_000;
/** No refresh comes sooner than this after an answer, whatever the clocks say: no query loop. */
const FLOOR = 60_000;
/** Waits after a failure that may pass (unreachable, busy, 5xx, 401, no token): then every 5 minutes. */
const RETRY = [5e3, 15e3, 6e4, 3e5];
/** A gateway or tokenProvider that has not answered in 30 s is given up on (GATEWAY_UNREACHABLE / NO_SESSION_TOKEN). */
const DEADLINE = 30_000;
/**
 * How far Spine's timestamp may be ahead of the gateway's `Date`: an hour, the most the gateway's
 * `spine.answerTimestamp.maxAheadSeconds` allows (default 5 minutes), and a second for `Date`'s
 * resolution. Tighter would hide real indicators from a gateway configured wider.
 */
const AHEAD = 3_601_000;
/** FgmStatus.maxAnswerAge, kept out of the class so the manifest lists only the accessor. */
let maxAge = DAY;
/**
 * A text property as the element reads it: a framework removes the attribute (null) or sets
 * undefined or a number when the record has none, and that must read as missing, not throw.
 */
const str = (v: unknown) => (typeof v == 'string' ? v : '');

/** `fgm-status-change` detail: every outcome, for the host's own logic. */
export interface FgmStatusChangeDetail {
  status: 'indicator' | 'no-record' | 'not-applicable' | 'error';
  nhsNumber: string;
  assessmentDate?: string;
  checkedAt?: string;
  messageId?: string;
}

/** `fgm-status-error` detail: for IT staff (MSCA-FGMRISQR-04). Never carries patient data. */
export interface FgmStatusErrorDetail {
  code: string;
  smspCode?: string;
  messageId?: string;
  httpStatus?: number;
}

interface Indicator {
  nhsNumber: string;
  assessmentDate: string;
  checkedAt: string;
  /** The last refresh could not reach Spine: shown as last confirmed at checkedAt. */
  unconfirmed?: boolean;
}

/**
 * @summary Shows an FGM-IS indicator alert for a child, and nothing when there is none.
 *
 * @fires fgm-status-change - Every outcome, once, fired when the element's DOM shows it (the alert and
 * `state` attribute in place or gone), and never for a query a newer one replaced:
 * `{status, nhsNumber, assessmentDate?, checkedAt?, messageId?}`; `status` is `indicator`, `no-record`,
 * `not-applicable` (18 or over) or `error` (after a refresh that could not reach Spine, `error` while the last
 * confirmed indicator stays on screen: the element's `state` attribute is still `indicator`).
 * @fires fgm-status-error - For IT staff (MSCA-FGMRISQR-04), never patient data: `{code, smspCode?, messageId?, httpStatus?}`.
 * `NO_SESSION_TOKEN` when no `token` or `tokenProvider` came within `FgmStatus.tokenWait` of connecting (it
 * still queries once one comes), or the `tokenProvider` threw, gave nothing or did not settle within 30 s; also
 * `INVALID_NHS_NUMBER`, `MISSING_BIRTH_DATE`, `NHS_NUMBER_NOT_VERIFIED`, `INVALID_URID` (a `urid` that cannot be
 * sent as a header), `GATEWAY_UNREACHABLE` (no answer, none within 30 s, or a body that did not arrive whole:
 * the connection dropped or stalled mid-body), `GATEWAY_BAD_RESPONSE` (an answer the element cannot check, an
 * error answer whose `code`, `smspCode` or `messageId` is not of its documented form among them; it carries no
 * success `smspCode`) and the gateway's codes (`ACCESS_DENIED`, `COULD_NOT_CONNECT_TO_SPINE`, …).
 *
 * @csspart base - The alert panel.
 * @csspart heading - The alert's heading.
 * @csspart body - The alert's text and details.
 *
 * @cssproperty --fgm-background - Panel background (NHS.UK warm yellow).
 * @cssproperty --fgm-border-color - Panel border.
 * @cssproperty --fgm-heading-background - Heading tab background.
 * @cssproperty --fgm-text-color - Text colour.
 * @cssproperty --fgm-font-family - Font family (inherits by default).
 */
export class FgmStatus extends ReactiveElement {
  static override styles = styles;
  /** The element's version. */
  static version = '0.2.1';
  /**
   * Milliseconds an indicator may stay on screen after **Spine's timestamp** for it (`checkedAt`). Its
   * age is measured on **one clock, the gateway's**: the answer's `Date` header less `checkedAt` (no or an
   * unreadable `Date`, as when a proxy strips it: the browser's clock less `checkedAt`, never age 0, so it is
   * never kept past 24 hours after Spine's timestamp); the indicator is then kept for the rest of
   * `maxAnswerAge` from when it arrived, so a PC clock hours or days off neither hides a fresh answer nor
   * keeps an old one. Default and maximum: 24 hours (MSCA-FGMRISQR-08, FGMISQ0011); a value is clamped to
   * **2 minutes – 24 hours**, and one that is not a finite number above 0 (`0`, `-1`, `NaN`, `undefined`,
   * `Infinity`) is ignored. An answer already that old is not shown (`GATEWAY_BAD_RESPONSE`). The element asks
   * again halfway to that limit (12 hours after a fresh answer), never sooner than a minute after an answer,
   * so a refresh comes before it. A refresh that cannot reach Spine (`COULD_NOT_CONNECT_TO_SPINE`, SMSP-0004; an
   * answer from Spine the gateway could not use, SMSP-0002; the gateway unreachable, busy or 5xx) keeps the indicator on screen, labelled
   * "Last confirmed by Spine (could not check again)" with that time, until `maxAnswerAge` after Spine's
   * timestamp for the confirmation (MSCA-FGMRISQR-07, FGMISQR010); a refusal, a no-record answer or another
   * patient takes it down at once. The limit is also a wall-clock deadline, checked on each render and when
   * the page becomes visible again (`visibilitychange`, `pageshow`), so a sleeping laptop does not keep it
   * past its time.
   */
  static get maxAnswerAge(): number {
    return maxAge;
  }
  /** @ignore one entry in custom-elements.json: the getter's. */
  static set maxAnswerAge(ms: number) {
    if (ms > 0 && ms < Infinity) maxAge = Math.min(Math.max(ms, MIN_AGE), DAY);
  }
  /** Milliseconds to wait for `token`/`tokenProvider` before `fgm-status-error` `NO_SESSION_TOKEN` (default 5000). */
  static tokenWait = 5000;

  static override properties = {
    nhsNumber: { attribute: 'nhs-number' },
    birthDate: { attribute: 'birth-date' },
    nhsNumberVerified: { type: Boolean, attribute: 'nhs-number-verified' },
    allowUnverified: { type: Boolean, attribute: 'allow-unverified' },
    gateway: {},
    urid: {},
    headingLevel: { type: Number, attribute: 'heading-level' },
    token: { attribute: false },
    tokenProvider: { attribute: false },
    _indicator: { state: true },
  };

  /**
   * The patient's NHS number (ten digits, a string). Removing the attribute, or setting `null`,
   * `undefined` or a number, takes an alert down at once and fires `INVALID_NHS_NUMBER`, as the
   * framework snippets below do when the record has no NHS number.
   */
  declare nhsNumber: string;
  /** Date of birth, `YYYY-MM-DD` — required: no query is made for anyone 18 or over (removed: `MISSING_BIRTH_DATE`, any alert down). */
  declare birthDate: string;
  /**
   * Set it only when the record's NHS number is verified (traced against PDS). Without it the element
   * asks nothing and fires `fgm-status-error` `NHS_NUMBER_NOT_VERIFIED` (MSCA-FGMRISDQ-01, MSCA-FGMRISQ-03,
   * FGMISQ003); removing it takes an alert down.
   */
  declare nhsNumberVerified: boolean;
  /**
   * The explicit opt-out: query with an unverified number. Only where the trust's clinical safety
   * officer has accepted the hazard (docs/assurance/hazard-log.md, H3).
   */
  declare allowUnverified: boolean;
  /** The gateway's base URL (default, and when removed: the page's own origin; a change takes an alert down and asks again). */
  declare gateway: string;
  /**
   * A CIS2 user's selected role profile id, sent to the gateway as `NHSD-Session-URID`; only where CIS2
   * names no selected role at sign-in (SMSP-AUDIT-002). Printable ASCII only: another character (a newline)
   * cannot be sent as a header, so the element asks nothing and fires `INVALID_URID`, not retried; setting
   * another `urid` asks again.
   */
  declare urid: string | undefined;
  /** The alert heading's level (`aria-level`; default 3, as the NHS.UK warning card): fit it to your page's headings. */
  declare headingLevel: number;
  /**
   * The session token (JWT), or for a CIS2 portal the user's CIS2 access token. A property only, never an
   * attribute, so it cannot leak into the DOM. The element waits for a token or tokenProvider before its
   * first query.
   */
  declare token: string | undefined;
  /**
   * `async () => token`, called for a fresh session token before each query; preferred over `token`. Like
   * `token`, it may be set before the element is defined: Lit takes such instance properties when it upgrades.
   */
  declare tokenProvider: (() => Promise<string>) | undefined;
  /** @internal */
  declare private _indicator: Indicator | undefined;

  #controller: AbortController | undefined;
  /** The last query stopped because the host had not given a token yet. */
  #awaitingToken = false;
  /** The last outcome was an error: a new token or tokenProvider asks again at once. */
  #failed = false;
  /** Failures in a row that may pass, for the retry's wait. */
  #retries = 0;
  /** The patient asked about, normalised: the same patient written otherwise is no change. */
  #asked: string | undefined;
  /** When to ask again (0: the current question is not answered yet, or was cut short). */
  #askAt = 0;
  /** The next timed step: asking again (maxAnswerAge, a retry, or a return to the page), or giving up waiting for a token. */
  #refresh: ReturnType<typeof setTimeout> | undefined;
  /** Takes the indicator down maxAnswerAge after Spine's timestamp for it, whatever a refresh is doing. */
  #expiry: ReturnType<typeof setTimeout> | undefined;
  /** The same deadline on the wall clock: timers stall in sleep, so render and a return to the tab check it too. */
  #expiresAt = 0;
  /** Back in view (tab shown, page restored, woken from sleep): drop an expired indicator, ask if a refresh is due. */
  #wake = () => {
    this.requestUpdate();
    if (this.#askAt && Date.now() >= this.#askAt) void this.#query(true);
  };

  constructor() {
    super();
    this.nhsNumber = '';
    this.birthDate = '';
    this.gateway = '';
    this.headingLevel = 3;
  }

  /**
   * The shadow root is the element's alone: markup pre-rendered into it (declarative shadow DOM)
   * may be an alert for another patient, so it goes before the element's own styles are adopted.
   */
  protected override createRenderRoot() {
    this.shadowRoot?.replaceChildren();
    return super.createRenderRoot();
  }

  override connectedCallback() {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.#wake);
    addEventListener('pageshow', this.#wake);
    // Back on the page after the host moved it: ask again if the question was cut short.
    if (this.hasUpdated) this.#schedule();
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.#wake);
    removeEventListener('pageshow', this.#wake);
    this.#controller?.abort();
    clearTimeout(this.#refresh);
  }

  /**
   * Asks the gateway again now, as a refresh: a confirmed indicator stays up while it asks, and
   * stays up marked "last confirmed" within its maxAnswerAge if the answer cannot be had.
   */
  refresh(): void {
    void this.#query(true);
  }

  /**
   * Asks again at #askAt: halfway through the time an indicator has left, or half of maxAnswerAge
   * after another answer (so a failed refresh still leaves a confirmed indicator up, within its
   * limit); at once when there is no answer; never off the page.
   */
  #schedule() {
    clearTimeout(this.#refresh);
    // A delay of 0 or less runs at once.
    if (this.isConnected)
      this.#refresh = setTimeout(() => void this.#query(true), this.#askAt && this.#askAt - Date.now());
  }

  protected override willUpdate(changed: PropertyValues<this>) {
    if (Date.now() >= this.#expiresAt) this._indicator = undefined;
    // Lit batches attribute changes into one update, so a patient change is one query (MSCA-FGMRISQ-05).
    // Compared as the gateway reads them: 999 000 0018 is the patient 9990000018 already shown.
    const asked =
      [
        str(this.nhsNumber).replace(/\s/g, ''),
        str(this.birthDate),
        str(this.gateway).replace(/\/$/, ''),
        this.nhsNumberVerified,
        this.allowUnverified,
      ] + '';
    if (asked != this.#asked) {
      this.#asked = asked;
      void this.#query();
    } else if (
      (this.#awaitingToken || this.#failed) &&
      ['token', 'tokenProvider', 'urid'].some((k) => changed.has(k as keyof FgmStatus))
    )
      void this.#query(true);
  }

  protected override updated() {
    if (this._indicator) this.setAttribute('state', 'indicator');
    else this.removeAttribute('state');
  }

  async #query(refresh = false) {
    // A new question takes the old answer down first: no alert outlives its patient; and its
    // retries start afresh (5 s first). A refresh for the same patient keeps a confirmed indicator
    // up through the encounter (MSCA-FGMRISQR-07, FGMISQR010); #expiry still ends it maxAnswerAge
    // after Spine's timestamp.
    if (!refresh) ((this._indicator = undefined), (this.#retries = 0));
    this.#askAt = 0;
    clearTimeout(this.#refresh);
    this.#controller?.abort();
    // Lit still updates a removed element: it asks once it is back on the page (connectedCallback).
    if (!this.isConnected) return;
    const controller = new AbortController();
    this.#controller = controller;
    // A gateway or tokenProvider that never answers must not leave the host unaware (M1).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), DEADLINE);
    const signal = AbortSignal.any([controller.signal, deadline.signal]);
    // Hosts often keep the number as shown, 3-3-4: the spaces are layout, not part of the number.
    const nhsNumber = str(this.nhsNumber).replace(/\s/g, '');
    const birthDate = str(this.birthDate);
    const stale = () => controller.signal.aborted;

    if (!isValidNhsNumber(nhsNumber))
      return this.#fail(nhsNumber, { code: 'INVALID_NHS_NUMBER', smspCode: 'FGM-0002' });
    if (!isIsoDate(birthDate)) return this.#fail(nhsNumber, { code: 'MISSING_BIRTH_DATE' });
    if (!isUnder18(birthDate, ukToday())) return this.#change({ status: 'not-applicable', nhsNumber }); // MSCA-FGMRISQ-04
    if (!this.nhsNumberVerified && !this.allowUnverified)
      return this.#fail(nhsNumber, { code: 'NHS_NUMBER_NOT_VERIFIED' });
    // A role id is printable ASCII: anything else (a newline) cannot be sent as a header, and no
    // retry mends the host's input, so it is refused here rather than failing as an outage.
    const urid = this.urid ?? '';
    if (!/^[ -~]*$/.test(urid)) return this.#fail(nhsNumber, { code: 'INVALID_URID' });

    // A host usually hands over its token just after the element upgrades: wait for it, but not
    // silently for ever (a host whose framework set no property would otherwise never know).
    this.#awaitingToken = !this.token && !this.tokenProvider;
    if (this.#awaitingToken) {
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- #fail never rejects; `void` costs the gzip budget a byte
      this.#refresh = setTimeout(() => this.#fail(nhsNumber, { code: 'NO_SESSION_TOKEN' }), FgmStatus.tokenWait);
      return;
    }
    let token: string | undefined;
    try {
      token = this.tokenProvider
        ? await Promise.race([
            this.tokenProvider(),
            new Promise<never>((_, reject) => signal.addEventListener('abort', reject)),
          ])
        : this.token;
    } catch {
      token = undefined;
    }
    if (stale() || !token) clearTimeout(timer);
    if (stale()) return;
    if (!token) return this.#fail(nhsNumber, { code: 'NO_SESSION_TOKEN' }, true);

    const result = await queryFgmStatus({
      gateway: str(this.gateway) || location.origin,
      token,
      urid,
      nhsNumber,
      birthDate,
      signal,
    });
    clearTimeout(timer);
    if (stale()) return; // an answer for a previous patient is dropped, never shown
    if (!('body' in result)) return this.#fail(nhsNumber, result, !('httpStatus' in result) || result.httpStatus > 499);
    const { body, httpStatus, headers } = result;
    const ids = body.messageId ? { messageId: body.messageId } : {};
    // SMSP-0002 (Spine's answer unusable, as a gateway answered for a proxy's error page in Spine's
    // place before review 18f F3) is a check that could not be made, as SMSP-0004 is: neither says
    // the indicator is gone, so a confirmed one stays up, marked, and it is asked again soon.
    if (body.status == 'error')
      return this.#fail(
        nhsNumber,
        { code: body.code, smspCode: body.smspCode, httpStatus, ...ids },
        httpStatus == 401 || httpStatus > 428 || body.smspCode == 'SMSP-0002',
        +headers.get('Retry-After')! * 1e3,
      );
    if (body.status == 'no-record')
      return this.#change({
        status: 'no-record',
        nhsNumber,
        ...(body.checkedAt && { checkedAt: body.checkedAt }),
        ...ids,
      });
    // Aged on ONE clock, the gateway's: its Date less Spine's timestamp, and kept for the rest of
    // maxAnswerAge from arrival, so a browser clock off by hours or days neither hides a fresh
    // answer nor keeps an old one. No readable Date (a proxy that strips it, or does not expose
    // it): the browser's clock, never age 0. One already that old is not shown, nor one from
    // further ahead than the gateway lets Spine be (AHEAD).
    const now = Date.now();
    const age = (Date.parse(headers.get('Date')!) || now) - Date.parse(body.checkedAt!);
    const left = maxAge - Math.max(0, age);
    if (left <= 0 || age < -AHEAD) return this.#fail(nhsNumber, { code: 'GATEWAY_BAD_RESPONSE', httpStatus, ...ids });
    this._indicator = { nhsNumber, assessmentDate: body.assessmentDate!, checkedAt: body.checkedAt! };
    this.#expiresAt = now + left;
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => (this._indicator = undefined), left);
    this.#askAt = now + Math.max(FLOOR, left / 2);
    return this.#change({ status: 'indicator', ...this._indicator, ...ids });
  }

  /**
   * Records an outcome and tells the host once the DOM shows it (the alert and `state` in place or
   * gone): a listener that looks finds what the event says. Dropped if a newer query began meanwhile.
   */
  async #change(detail: FgmStatusChangeDetail, error?: FgmStatusErrorDetail) {
    if (detail.status == 'no-record' || detail.status == 'not-applicable') this._indicator = undefined;
    if (!(this.#failed = detail.status == 'error')) this.#retries = 0;
    this.#askAt ||= Date.now() + maxAge / 2;
    this.#schedule();
    const asked = this.#controller;
    await this.updateComplete;
    if (asked != this.#controller) return;
    this.dispatchEvent(new CustomEvent('fgm-status-change', { detail, bubbles: true, composed: true }));
    if (error)
      this.dispatchEvent(new CustomEvent('fgm-status-error', { detail: error, bubbles: true, composed: true }));
  }

  /**
   * `passing`: a failure that may pass (gateway unreachable or timed out, busy, 5xx, 401, Spine's
   * answer unusable (SMSP-0002), no token from the provider). It is retried soon (RETRY, or the gateway's Retry-After within 5 s to 5
   * minutes) and keeps a confirmed indicator up, marked, within its maxAnswerAge: none of these says
   * the indicator is gone. Any other failure (a refusal, a bad request) takes it down.
   */
  #fail(nhsNumber: string, detail: FgmStatusErrorDetail, passing: unknown = false, retryAfter = 0) {
    const i = this._indicator;
    this._indicator = i && passing ? { ...i, unconfirmed: true } : undefined;
    if (passing)
      ((this.#askAt =
        Date.now() +
        (retryAfter ? Math.min(Math.max(retryAfter, RETRY[0]!), RETRY[3]!) : RETRY[Math.min(this.#retries, 3)]!)),
        this.#retries++);
    return this.#change(
      { status: 'error', nhsNumber, ...(detail.messageId && { messageId: detail.messageId }) },
      detail,
    );
  }

  /** The alert, built on first showing and kept, so a refresh changes its text in place. */
  #card: Element | undefined;
  /** Its parts that vary: the heading, the NHS number, the assessment's <time>, the check's label and <time>. */
  #parts: Element[] = [];

  /**
   * Shows the indicator, or nothing. Built with DOM calls, not parsed markup: no HTML sink, so a
   * page that enforces Trusted Types needs no policy for it, and no value is ever read as markup.
   * Only text that changed is written: a live region announces what changes.
   */
  protected override update(changed: PropertyValues<this>) {
    super.update(changed);
    const i = this._indicator;
    if (!i) return this.#card?.remove();
    // The NHS.UK 10 warning card; the heading is inside the alert region so it is announced with it.
    // role=heading with aria-level lets the host choose the level a real <hN> would fix.
    const p = this.#parts;
    this.#card ??= h(
      'div',
      { part: 'base', class: 'card', role: 'alert' },
      (p[0] = h(
        'div',
        { role: 'heading', part: 'heading', class: 'h' },
        h('span', { class: 'vh' }, 'Important: '),
        'FGM risk indicator',
      )),
      h(
        'div',
        { part: 'body' },
        h(
          'p',
          {},
          'An FGM Information Sharing (FGM IS) indicator means this child is considered at potential risk of female genital mutilation. Consider any appropriate safeguarding action under your local procedures.',
        ),
        // A space between label and value, as the markup had: the text reads "NHS number 999 000 0018".
        h(
          'dl',
          {},
          h('dt', {}, 'NHS number'),
          ' ',
          (p[1] = h('dd')),
          ' ',
          h('dt', {}, 'Assessment date'),
          ' ',
          h('dd', {}, (p[2] = time())),
          ' ',
          (p[3] = h('dt')),
          ' ',
          h('dd', {}, (p[4] = time())),
          ' ',
          h('dt', {}, 'Source'),
          ' ',
          h('dd', {}, 'NHS Spine FGM-IS'),
        ),
      ),
    );
    p[0]!.setAttribute('aria-level', /^[1-6]$/.test(this.headingLevel + '') ? this.headingLevel + '' : '3');
    put(p[1]!, formatNhsNumber(i.nhsNumber));
    put(p[2]!, i.assessmentDate, formatDate(i.assessmentDate), longDate(i.assessmentDate));
    put(p[3]!, i.unconfirmed ? 'Last confirmed by Spine (could not check again)' : 'Checked with Spine');
    put(p[4]!, i.checkedAt, formatDateTime(i.checkedAt), longDateTime(i.checkedAt));
    if (this.#card.parentNode != this.renderRoot) this.renderRoot.append(this.#card);
  }
}

/** An element with attributes and children; a string child is a text node, never markup. */
function h(tag: string, attributes: Record<string, string> = {}, ...children: (Node | string)[]): Element {
  const e = document.createElement(tag);
  for (const a in attributes) e.setAttribute(a, attributes[a]!);
  e.append(...children);
  return e;
}

/** A date or instant: its machine-readable datetime, shown short to the eye and long to a screen reader. */
const time = () => h('time', {}, h('span', { 'aria-hidden': 'true' }), h('span', { class: 'vh' }));

/** Text into `e`, or a <time>'s datetime and its two forms; only what differs is written. */
function put(e: Element, text: string, short?: string, long?: string) {
  if (short == null) {
    if (e.textContent != text) e.textContent = text;
  } else {
    e.setAttribute('datetime', text);
    put(e.firstChild as Element, short);
    put(e.lastChild as Element, long!);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'fgm-status': FgmStatus;
  }
  interface HTMLElementEventMap {
    'fgm-status-change': CustomEvent<FgmStatusChangeDetail>;
    'fgm-status-error': CustomEvent<FgmStatusErrorDetail>;
  }
}
