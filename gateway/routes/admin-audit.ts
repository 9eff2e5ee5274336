/**
 * @module routes/admin-audit
 * The audit trail for IG staff (SMSP-AUDIT-007): search by user, message ID, patient and time,
 * export as CSV for a Subject Access Request, verify the chain, and the daily throughput report
 * (SMSP-PERF-002). Only users holding one of their client's `auditorRoles` get in, and see that
 * client's records at their own organisation only; `smspAuditorRoles` see every client's (SMSP-IG-001);
 * every use — and every refusal — is itself audited by the middleware in front of these routes.
 */
import { readFileSync } from 'node:fs';
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { AUDIT_COLUMNS, type AuditRow } from '../audit/chain.ts';
import type { AuditTrail } from '../audit/trail.ts';
import { describeVerify } from '../audit/verify.ts';
import { noteAudit, type GatewayEnv } from '../env.ts';
import { SmspError } from '../smsp-error.ts';
import { isIsoDate, ukToday } from '@fgm-status/element/rules/age';

const holds = (c: Context<GatewayEnv>, wanted: readonly string[]) => {
  const { roles, activities } = c.get('identity');
  return [...roles, ...activities].some((r) => wanted.includes(r));
};

/** The records an auditor who is not SMSP-wide may see. */
export interface AuditScope {
  clientId: string;
  orgCode: string;
}

/**
 * Whose records the auditor may see: every client's (null) for one of their client's
 * `smspAuditorRoles`, else only their own client's at their own organisation (SMSP-IG-001: a
 * trust's IG officer reads that trust's trail, not another trust's served by the same portal).
 * The organisation is the CIS2 selected role's, or the local org claim.
 */
const auditScope = (c: Context<GatewayEnv>): AuditScope | null =>
  holds(c, c.get('client').smspAuditorRoles ?? [])
    ? null
    : { clientId: c.get('client').id, orgCode: c.get('identity').orgCode };
const scopeName = (scope: AuditScope | null) => (scope ? `${scope.clientId}@${scope.orgCode}` : 'smsp');

/**
 * Lets through users whose roles or activities include one of their client's auditor roles (or
 * SMSP-wide auditor roles) AND who act for one of the organisations their client may act for
 * (`odsCodes`, the widget API's rule, SMSP-IG-001): a local user's org claim, or a CIS2 user's
 * selected role's organisation, whose activities must then hold the auditor activity. Runs after
 * sessionAuth.
 */
export function auditorOnly(): MiddlewareHandler<GatewayEnv> {
  return async function auditorOnly(c, next) {
    const client = c.get('client');
    if (!holds(c, [...client.auditorRoles, ...(client.smspAuditorRoles ?? [])]))
      throw new SmspError('not-an-auditor', 'not an auditor');
    if (!client.odsCodes.includes(c.get('identity').orgCode))
      throw new SmspError('organisation-not-permitted', "auditor's organisation not configured for this client");
    await next();
  };
}

/**
 * `GET /admin/session`: who the audit page acts as (MSCA-IG-03) — user, role profile or local
 * roles, organisation, and whether CIS2 confirmed them — shown before any search. Audited like
 * every admin call.
 */
export function auditSessionRoute(): Handler<GatewayEnv> {
  return function auditSessionRoute(c) {
    const { author, orgCode, roles, source } = c.get('identity');
    c.set('outcomeCode', 'SUCCESS');
    return c.json({
      userId: author.kind === 'sds' ? author.userId : author.localId,
      ...(author.name ? { name: author.name } : {}),
      roleProfileId: author.kind === 'sds' ? author.roleProfileId : null,
      localRoles: roles,
      orgCode,
      client: c.get('client').name,
      confirmedByCis2: source === 'cis2',
      scope: auditScope(c) === null ? 'smsp' : 'client',
    });
  };
}

// An instant with its UTC offset (zod checks the shape and the calendar); compared as a moment, not
// as text. Within years 0000–9999 in UTC, where the store's ISO text sorts in time order.
const instant = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine((d) => d.getUTCFullYear() >= 0 && d.getUTCFullYear() <= 9999);
/** The audit search query (also described in /openapi.json). */
export const SearchSchema = z.strictObject({
  userId: z.string().min(1).max(100).optional(),
  messageId: z.string().min(1).max(100).optional(),
  // Spaces stripped as the widget API does, so the 3-3-4 form on screen (999 000 0018) finds the records.
  nhsNumber: z
    .string()
    .max(20)
    .transform((s) => s.replace(/\s/g, ''))
    .pipe(z.string().regex(/^\d{10}$/))
    .optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
  format: z.enum(['json', 'csv']).optional(),
});

const CSV_COLUMNS = ['seq', ...AUDIT_COLUMNS, 'prevHash', 'hash'] as const;

/** A CSV cell: quoted, quotes doubled, and a leading = + - @ defused so spreadsheets do not run it. */
function cell(v: unknown): string {
  const s =
    v === null || v === undefined
      ? ''
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v as string | number | boolean);
  return `"${(/^[=+\-@\t\r]/.test(s) ? `'${s}` : s).replace(/"/g, '""')}"`;
}

export function toCsv(rows: readonly AuditRow[]): string {
  return (
    [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((k) => cell(r[k])).join(','))].join('\r\n') + '\r\n'
  );
}

/** `GET /admin/audit?userId=&messageId=&nhsNumber=&from=&to=&limit=&afterSeq=&format=csv` */
export function searchAuditRoute(trail: AuditTrail): Handler<GatewayEnv> {
  return async function searchAuditRoute(c) {
    const parsed = SearchSchema.safeParse(c.req.query());
    if (!parsed.success)
      throw new SmspError('audit-query-invalid', `audit search: ${parsed.error.issues[0]!.path.join('.')}`);
    const { format, ...q } = parsed.data;
    const scope = auditScope(c);
    // The search is audited: what was asked for, whose records it could see, and the patient if one was named.
    noteAudit(c, {
      nhsNumber: q.nhsNumber ?? null,
      detail: JSON.stringify({
        search: { ...q, nhsNumber: q.nhsNumber ? 'see nhsNumber' : undefined },
        format: format ?? 'json',
        scope: scopeName(scope),
      }),
    });
    const rows = await trail.search({ ...q, ...(scope ?? {}) });
    c.set('outcomeCode', 'SUCCESS');
    if (format === 'csv') {
      return c.body(toCsv(rows), 200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': 'attachment; filename="fgm-audit.csv"',
      });
    }
    return c.json({ records: rows, next: rows.length === (q.limit ?? 1000) ? rows.at(-1)!.seq : null });
  };
}

/** `GET /admin/audit/verify`: any auditor; the whole chain's verdict names record numbers, never record content. */
export function verifyAuditRoute(trail: AuditTrail): Handler<GatewayEnv> {
  return async function verifyAuditRoute(c) {
    const result = await trail.verify();
    noteAudit(c, {
      detail: JSON.stringify({
        verify: result.ok ? 'intact' : result.seq === null ? 'damaged database' : `broken at ${result.seq}`,
      }),
    });
    c.set('outcomeCode', 'SUCCESS');
    return c.json({ ...result, summary: describeVerify(result) });
  };
}

/** `GET /admin/throughput?date=YYYY-MM-DD` */
export function throughputRoute(trail: AuditTrail): Handler<GatewayEnv> {
  return async function throughputRoute(c) {
    const date = c.req.query('date') ?? ukToday();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
      throw new SmspError('audit-query-invalid', 'throughput: date is not YYYY-MM-DD');
    // A date that does not exist (2026-02-30) would report zeros as if it were a quiet day.
    if (!isIsoDate(date)) throw new SmspError('audit-query-invalid', 'throughput: no such date');
    const scope = auditScope(c);
    noteAudit(c, { detail: JSON.stringify({ throughput: date, scope: scopeName(scope) }) });
    c.set('outcomeCode', 'SUCCESS');
    return c.json(await trail.throughput(date, scope ?? undefined));
  };
}

const page = (name: string) => readFileSync(new URL(`./admin-page/${name}`, import.meta.url), 'utf8');

/** The auditors' page, its script and styles (no inline script or style: they run under CSP default-src 'self'). */
export function auditPage(portalOrigins: readonly string[]): {
  html: Handler<GatewayEnv>;
  js: Handler<GatewayEnv>;
  css: Handler<GatewayEnv>;
} {
  // The page accepts a session only from these origins (the clients' portals). Origins are URL
  // origins (config.ts), escaped anyway as they go into an attribute.
  const origins = [...new Set(portalOrigins)]
    .join(' ')
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;');
  const [html, js, css] = [
    page('audit.html').replace('{{PORTAL_ORIGINS}}', origins),
    page('audit.js'),
    page('audit.css'),
  ];
  return {
    html: (c) => c.body(html, 200, { 'Content-Type': 'text/html; charset=utf-8' }),
    js: (c) => c.body(js, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
    css: (c) => c.body(css, 200, { 'Content-Type': 'text/css; charset=utf-8' }),
  };
}
