/**
 * @module server/config-reload
 * What a SIGHUP can change, key by key: the one table (KEY_APPLIES) naming, for every key of the
 * config schema, whether it applies on a reload or only after a restart. A reload names each
 * restart-only key that changed under "restart to apply", so an operator is never told a change
 * took effect when it did not. gateway/server/config-reload.test.ts walks the zod schema: a key added to
 * the schema without a row here fails it. `[]` in a key stands for every element of an array.
 * docs/configuration.md's "on reload" column is generated from this table (scripts/config-docs.ts).
 */
import type { GatewayConfig } from '../config/config.ts';

/** `reload`: from the next request after SIGHUP; `restart`: keeps its running value until a restart. */
export type Applies = 'reload' | 'restart';

/** A rule decided by the running config; `doc` says it in words for the configuration reference. */
export type Conditional = ((running: GatewayConfig) => Applies) & { readonly doc: string };

// A shared (Redis) budget is read once: every gateway sharing it must agree on its rate, and its
// per-client shares (from the clients' ids and spineShare) are fixed when it is opened.
const restartWhenShared: Conditional = Object.assign(
  (c: GatewayConfig): Applies => (c.spine.rateLimit.redisUrl ? 'restart' : 'reload'),
  { doc: 'applies on reload; restart to apply when spine.rateLimit.redisUrl is set (a shared budget)' },
);

/** Every config key and when it takes effect (a function decides by the running config). */
export const KEY_APPLIES: Record<string, Applies | Conditional> = {
  $schema: 'reload',
  // The listener: its address, TLS and Node's own header and request timers are fixed when it opens.
  'listen.host': 'restart',
  'listen.port': 'restart',
  'listen.tls.certFile': 'restart',
  'listen.tls.keyFile': 'restart',
  'listen.tls.caFile': 'restart',
  'listen.tls.requestClientCert': 'restart',
  'listen.requestTimeoutMs': 'restart',
  'listen.headersTimeoutMs': 'restart',
  'listen.maxBodyBytes': 'reload',
  'listen.keepAliveTimeoutMs': 'reload',
  'listen.maxConnections': 'reload',
  'listen.bodyTimeoutMs': 'reload',
  'listen.writeTimeoutMs': 'reload',
  'listen.maxInFlightPerUser': 'reload',
  'listen.maxInFlightPerClient': 'reload',
  'listen.maxUnauthenticatedPerAddress': 'reload',
  'listen.maxPipelinedPerConnection': 'reload',
  'metrics.host': 'restart',
  'metrics.port': 'restart',
  'smsp.asid': 'reload',
  'smsp.odsCode': 'reload',
  'smsp.name': 'reload',
  // The Spine connection (its TLS and the limits of one call) is opened once.
  'spine.endpoint': 'restart',
  'spine.asid': 'reload',
  'spine.tls.certFile': 'restart',
  'spine.tls.keyFile': 'restart',
  'spine.tls.caFile': 'restart',
  'spine.timeoutMs': 'restart',
  'spine.maxResponseBytes': 'restart',
  'spine.rateLimit.perSecond': restartWhenShared,
  'spine.rateLimit.burst': restartWhenShared,
  'spine.rateLimit.userShare': restartWhenShared,
  'spine.rateLimit.redisUrl': 'restart',
  'spine.rateLimit.redisKeyPrefix': 'restart',
  'spine.rateLimit.localFallbackShare': 'restart',
  // The safety core's clock skew is read per answer.
  'spine.answerTimestamp.maxAheadSeconds': 'reload',
  'spine.answerTimestamp.maxBehindSeconds': 'reload',
  'spine.circuitBreaker.failureThreshold': 'reload',
  'spine.circuitBreaker.coolDownMs': 'reload',
  // Client systems: all of it, with `enabled` taking a client out of service (SMSP-SEC-001).
  'clients[].id': restartWhenShared,
  'clients[].name': 'reload',
  'clients[].odsCode': 'reload',
  'clients[].odsCodes': 'reload',
  'clients[].origins': 'reload',
  'clients[].token.issuer': 'reload',
  'clients[].token.audience': 'reload',
  'clients[].token.jwksUrl': 'reload',
  'clients[].token.publicKeyFile': 'reload',
  'clients[].token.algorithms': 'reload',
  'clients[].token.maxLifetimeSeconds': 'reload',
  'clients[].claims': 'reload',
  'clients[].claims.userId': 'reload',
  'clients[].claims.roles': 'reload',
  'clients[].claims.orgCode': 'reload',
  // A reload starts a fresh UserInfo cache for each CIS2 client.
  'clients[].cis2.issuer': 'reload',
  'clients[].cis2.clientId': 'reload',
  'clients[].cis2.jwksUrl': 'reload',
  'clients[].cis2.userInfoEndpoint': 'reload',
  'clients[].cis2.timeoutMs': 'reload',
  'clients[].cis2.cacheSeconds': 'reload',
  'clients[].cis2.maxConcurrentCalls': 'reload',
  'clients[].roleActivities': 'reload',
  'clients[].auditorRoles': 'reload',
  'clients[].smspAuditorRoles': 'reload',
  'clients[].priority': 'reload',
  'clients[].spineShare': restartWhenShared,
  'clients[].enabled': 'reload',
  'clients[].orgNames': 'reload',
  'clients[].mtls.fingerprint256': 'reload',
  'clients[].systemToken.issuer': 'reload',
  'clients[].systemToken.audience': 'reload',
  'clients[].systemToken.jwksUrl': 'reload',
  'clients[].systemToken.publicKeyFile': 'reload',
  'clients[].systemToken.algorithms': 'reload',
  'clients[].systemToken.maxLifetimeSeconds': 'reload',
  // The audit store is opened once (one hash chain, one writer).
  'audit.sqliteFile': 'restart',
  'audit.hmacKeyFile': 'restart',
  'audit.anchorPublicKeyFile': 'restart',
  'audit.anchorDir': 'restart',
  'audit.postgresUrl': 'restart',
  'audit.onBrokenChain': 'restart',
  // Read by each `retain` run, and for the next query's erasure date (the app is rebuilt).
  'audit.retentionDays': 'reload',
  'audit.outcomeRetentionDays': 'reload',
  vocabularyFile: 'reload',
  widgetFile: 'reload',
  // The CDS Hooks interface and its JWT checks are built once (server.ts loads it at start).
  'cdsHooks.baseUrl': 'restart',
  'cdsHooks.allowInsecureFhirServers': 'restart',
  'cdsHooks.clients[].id': 'restart',
  'cdsHooks.clients[].name': 'restart',
  'cdsHooks.clients[].odsCode': 'restart',
  'cdsHooks.clients[].issuer': 'restart',
  'cdsHooks.clients[].jwksUrl': 'restart',
  'cdsHooks.clients[].publicKeyFile': 'restart',
  'cdsHooks.clients[].jkuAllowList': 'restart',
  'cdsHooks.clients[].algorithms': 'restart',
  'cdsHooks.clients[].maxLifetimeSeconds': 'restart',
  'cdsHooks.clients[].priority': 'restart',
  'cdsHooks.clients[].fhirServers': 'restart',
  'cdsHooks.clients[].allowUnverified': 'restart',
};

/** The value at a KEY_APPLIES key; `[]` maps over the array (a missing part is undefined). */
export function valueAt(config: unknown, key: string): unknown {
  const step = (v: unknown, parts: string[]): unknown => {
    if (parts.length === 0 || v === undefined || v === null) return v;
    const [head, ...rest] = parts as [string, ...string[]];
    if (head.endsWith('[]')) {
      const list = (v as Record<string, unknown>)[head.slice(0, -2)];
      return Array.isArray(list) ? list.map((e) => step(e, rest)) : undefined;
    }
    return step((v as Record<string, unknown>)[head], rest);
  };
  return step(config, key.split('.'));
}

/** When `key` takes effect, given the running config. */
export const applies = (key: string, running: GatewayConfig): Applies => {
  const rule = KEY_APPLIES[key];
  if (rule === undefined) throw new Error(`config-reload: ${key} is not in KEY_APPLIES`);
  return typeof rule === 'function' ? rule(running) : rule;
};

/**
 * The restart-only keys whose value differs between the running config and `next`.
 * @example restartNeeded(running, { ...running, listen: { ...running.listen, port: 1 } }) // ['listen.port']
 */
export function restartNeeded(running: GatewayConfig, next: GatewayConfig): string[] {
  return Object.keys(KEY_APPLIES).filter(
    (key) =>
      applies(key, running) === 'restart' &&
      JSON.stringify(valueAt(running, key)) !== JSON.stringify(valueAt(next, key)),
  );
}
