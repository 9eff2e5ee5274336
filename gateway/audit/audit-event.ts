/**
 * @module audit/audit-event
 * What the gateway audits for every interaction, accepted or refused (SMSP-AUDIT-004/006/009),
 * and the one interface every store implements.
 */
export interface AuditEvent {
  /** UTC, ISO 8601 with milliseconds (SMSP-AUDIT-011). */
  time: string;
  /**
   * What happened (SMSP-AUDIT-008): a widget or FHIR query (refused tokens and roles included,
   * with their outcome code), an auditor's query of the trail, the gateway starting, or a config
   * reload, or an erasure of outcomes whose date has come (FGMISQR009).
   */
  eventType:
    'widget-query' | 'fhir-query' | 'cds-query' | 'audit-query' | 'gateway-start' | 'config-reload' | 'outcome-erasure';
  /** The gateway's request id (also in the access log line). */
  requestId: string;
  /** The client's id for its request: the FHIR MessageHeader id, or the request id on the widget path. */
  clientMessageId: string | null;
  /** Configured client system, when known (null: token from an unknown issuer, no credentials). */
  clientId: string | null;
  /** SDS User ID or local user id. */
  userId: string | null;
  /** SDS Role Profile ID (smartcard users). */
  roleProfileId: string | null;
  /** Local role names, comma-separated (local users). */
  localRoles: string | null;
  orgCode: string | null;
  nhsNumber: string | null;
  /** The MessageHeader id of the message we sent to Spine; null when Spine was not called. */
  spineMessageId: string | null;
  /** Spine's response MessageHeader id, when one was validated. */
  spineResponseId: string | null;
  /** The Details.Code the client received. */
  outcomeCode: string;
  httpStatus: number;
  /** True only when the outcome is Spine's own answer (SMSP-AUDIT-006; this SMSP has no cache). */
  answeredBySpine: boolean;
  /** JSON for the other event types: an audit query's parameters, a configuration hash. */
  detail?: string | null;
  /**
   * JSON of what Spine's answer looked like (deviations transformed, or why it was refused): never
   * stored in clear, but sealed into `detail` with the outcome's salt, so it is erased with the
   * outcome (sealed-detail.ts).
   */
  spineDetail?: string | null;
  /**
   * The UK date (YYYY-MM-DD) from which this record's outcome must be gone (FGMISQR009): the
   * patient's 18th birthday where the request gave her birth date, else the query's date plus
   * `audit.outcomeRetentionDays`. Null for events that hold nothing about a child.
   */
  outcomeEraseOn?: string | null;
}

/** What the transport knows about an interaction but the record does not store as a field. */
export interface AuditContext {
  /** The connection's remote address (bounds unauthenticated floods; see unauthenticated-bound.ts). */
  sourceAddress?: string;
  /** The record's `spineMessageId` names a message never sent (the busy tone): Spine was not asked (see refused-user-bound.ts). */
  spineNotAsked?: boolean;
}

/** Durable audit storage: `record` resolves only once the event is safely stored. */
export interface AuditSink {
  record(event: AuditEvent, context?: AuditContext): Promise<void>;
}

/**
 * A store that can clear the outcomes due on or before a UK date (FGMISQR009); answers their seqs.
 * The run's `outcome-erasure` record (erasure-record.ts) is appended in the same transaction, so a
 * failure between the two leaves neither.
 */
export interface OutcomeEraser {
  eraseOutcomes(today: string, plan: ErasurePlan): Promise<number[]>;
}

/**
 * What the store needs to write the run's record inside its erasing transaction: the run's
 * instant and ids, and the archived records the run will clear once that transaction commits.
 */
export interface ErasurePlan {
  time: string;
  orgCode: string;
  requestId: string;
  archives: { archive: string; seqs: number[] }[];
}
