/**
 * The types of `<fgm-status>`, standing alone: typing the element needs neither `lit` nor the
 * element's source. (widget/types.check.ts keeps them in step with the element.)
 */

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

/**
 * `<fgm-status>`: shows a child's NHS Spine FGM-IS indicator alert, and nothing when there is none.
 * @fires fgm-status-change - Every outcome.
 * @fires fgm-status-error - Errors and refusals, for IT reporting; no patient data.
 */
export declare class FgmStatus extends HTMLElement {
  /** The element's version (the package's). */
  static version: string;
  /**
   * Milliseconds an indicator may stay on screen after Spine's timestamp for it (`checkedAt`), its
   * age measured on the gateway's clock (the answer's `Date` less `checkedAt`; none: 0), never the
   * browser's: 24 hours by default and at most (MSCA-FGMRISQR-08). A value is clamped to
   * [2 minutes, 24 hours]; one that is not a finite number above 0 is ignored. The element asks
   * again halfway to that limit (12 hours after a fresh answer, never sooner than a minute); a
   * refresh that cannot reach Spine leaves the indicator up, marked with when it was last
   * confirmed (MSCA-FGMRISQR-07), and is retried after 5 s, 15 s, 60 s, then every 5 minutes.
   */
  static maxAnswerAge: number;
  /** Milliseconds the element waits for a `token` or `tokenProvider` before `fgm-status-error` NO_SESSION_TOKEN (default 5000). */
  static tokenWait: number;
  /** The patient's NHS number, ten digits (attribute `nhs-number`). */
  nhsNumber: string;
  /** The patient's date of birth, YYYY-MM-DD (attribute `birth-date`). Required. */
  birthDate: string;
  /** Set when the host's NHS number is verified (PDS-traced), attribute `nhs-number-verified`: the element asks nothing without it (MSCA-FGMRISDQ-01, FGMISQ003). */
  nhsNumberVerified: boolean;
  /** The host's explicit opt-out (attribute `allow-unverified`): query with an unverified NHS number. */
  allowUnverified: boolean;
  /** The gateway's base URL; default the page's own origin (attribute `gateway`). */
  gateway: string;
  /** A CIS2 user's selected role profile id, sent as `NHSD-Session-URID` when CIS2 did not name one at sign-in (attribute `urid`). */
  urid: string | undefined;
  /** Level of the alert's heading, default 3 (attribute `heading-level`). */
  headingLevel: number;
  /** The host's session token. A property only, never an attribute. */
  token: string | undefined;
  /** Called for a fresh session token before each query; preferred over `token`. */
  tokenProvider: (() => Promise<string>) | undefined;
  /**
   * Asks the gateway again now, as a refresh: a confirmed indicator stays up while it asks, and
   * stays up marked "last confirmed" within its maxAnswerAge if the answer cannot be had.
   */
  refresh(): void;
  /** Resolves once the element has rendered its current state. */
  readonly updateComplete: Promise<boolean>;
}
