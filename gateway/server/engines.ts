/**
 * @module server/engines
 * Config picks the engines; nothing else knows which one runs. The audit store is SQLite
 * (`audit.sqliteFile`, the embedded default) or PostgreSQL (`audit.postgresUrl`); the Spine budget
 * is in-process or shared in Redis (`spine.rateLimit.redisUrl`). The scale-out engines are
 * imported only when configured, so the default gateway loads neither driver.
 * Each reports its state for /healthz, for the `fgm_gateway_dependency_up` metric and in the log.
 */
import type { AuditSink, OutcomeEraser } from '../audit/audit-event.ts';
import { openSqliteAuditStore } from '../audit/sqlite-store.ts';
import { spineClients, type GatewayConfig } from '../config/config.ts';
import type { Logger } from '../observe/logger.ts';
import { Gauge, type Registry } from 'prom-client';
import { clientShares } from '../spine/client-shares.ts';
import { budgetUserKeySecret, createRateLimiter, type RateLimiter } from '../spine/rate-limiter.ts';

/** What /healthz shows about the engines: no record content, no credentials. */
export interface EngineHealth {
  audit: { ok: boolean; reason?: string; warning?: string };
  spineBudget: { mode: 'in-process' | 'shared' | 'local-fallback'; reason?: string };
  /** The CDS Hooks jti check, when CDS Hooks and Redis are configured. */
  cdsReplayCheck?: { mode: 'shared' | 'local-fallback'; reason?: string };
}

export interface AuditEngine {
  store: AuditSink & OutcomeEraser & { close(): Promise<void> };
  health(): EngineHealth['audit'];
  /** Names the store in start-up messages (never a password). */
  where: string;
}

export interface SpineBudget {
  limiter: RateLimiter;
  health(): EngineHealth['spineBudget'];
  close(): Promise<void>;
}

/** `postgres://user:secret@host/db` → `postgres://user@host/db`, for messages. */
export const withoutPassword = (url: string) => {
  const u = new URL(url);
  u.password = '';
  return u.toString();
};

const DEPENDENCY_UP = 'fgm_gateway_dependency_up';
/** Registered only when a scale-out engine is configured: the default gateway's metrics are unchanged. */
function dependencyGauge(registry: Registry): Gauge<'dependency'> {
  return (
    (registry.getSingleMetric(DEPENDENCY_UP) as Gauge<'dependency'> | undefined) ??
    new Gauge({
      name: DEPENDENCY_UP,
      help: 'Scale-out engines: 1 while usable (audit-store: PostgreSQL reachable; spine-budget: the shared Redis budget in use, 0 on the local fallback share)',
      labelNames: ['dependency'] as const,
      registers: [registry],
    })
  );
}

export async function openAuditEngine(
  config: GatewayConfig,
  hmacKey: Buffer,
  { log, registry }: { log: Logger; registry: Registry },
): Promise<AuditEngine> {
  if (!config.audit.postgresUrl) {
    const file = config.audit.sqliteFile!;
    return { store: await openSqliteAuditStore(file, hmacKey), health: () => ({ ok: true }), where: file };
  }
  const { openPostgresAuditStore } = await import('../audit/postgres-store.ts');
  const gauge = dependencyGauge(registry);
  gauge.set({ dependency: 'audit-store' }, 1);
  const store = await openPostgresAuditStore(config.audit.postgresUrl, hmacKey, {
    onHealth: (h) => {
      gauge.set({ dependency: 'audit-store' }, h.ok ? 1 : 0);
      log(
        h.ok
          ? { level: 'info', msg: 'audit store reachable again' }
          : { level: 'error', msg: 'AUDIT STORE UNREACHABLE: requests fail closed', reason: h.reason },
      );
    },
  });
  const warning = store.privilegeWarning;
  if (warning) log({ level: 'warn', msg: 'AUDIT STORE ROLE TOO POWERFUL', reason: warning });
  return {
    store,
    health: () => ({ ...store.health(), ...(warning ? { warning } : {}) }),
    where: withoutPassword(config.audit.postgresUrl),
  };
}

export async function openSpineBudget(
  config: GatewayConfig,
  hmacKey: Buffer,
  { log, registry }: { log: Logger; registry: Registry },
): Promise<SpineBudget> {
  const { perSecond, burst, redisUrl, redisKeyPrefix, localFallbackShare, userShare } = config.spine.rateLimit;
  const shares = clientShares(spineClients(config));
  if (!redisUrl) {
    return {
      limiter: createRateLimiter({ perSecond, burst, shares, userShare }),
      health: () => ({ mode: 'in-process' }),
      close: async () => {},
    };
  }
  const { createSharedRateLimiter } = await import('../spine/redis-rate-limiter.ts');
  const gauge = dependencyGauge(registry);
  gauge.set({ dependency: 'spine-budget' }, 0);
  const limiter = await createSharedRateLimiter({
    redisUrl,
    keyPrefix: redisKeyPrefix,
    perSecond,
    burst,
    localFallbackShare: localFallbackShare!,
    shares,
    userShare,
    userKeySecret: budgetUserKeySecret(hmacKey),
    onState: (s) => {
      gauge.set({ dependency: 'spine-budget' }, s.shared ? 1 : 0);
      log(
        s.shared
          ? { level: 'info', msg: 'spine budget: shared in Redis' }
          : {
              level: 'warn',
              msg: 'spine budget: Redis unreachable, using the local fallback share',
              localFallbackShare,
              reason: s.reason,
            },
      );
    },
  });
  if (!limiter.state().shared)
    log({
      level: 'warn',
      msg: 'spine budget: Redis unreachable, using the local fallback share',
      localFallbackShare,
      reason: limiter.state().reason,
    });
  gauge.set({ dependency: 'spine-budget' }, limiter.state().shared ? 1 : 0);
  return {
    limiter,
    health: () => {
      const s = limiter.state();
      return s.shared ? { mode: 'shared' } : { mode: 'local-fallback', ...(s.reason ? { reason: s.reason } : {}) };
    },
    close: () => limiter.close(),
  };
}
