/**
 * SIGHUP is honest about every key (issue 21): the zod schema is walked here, independently of
 * config-reload.ts, and every key it defines must have a row in KEY_APPLIES — a key added to the
 * schema without saying whether a reload applies it fails this test — and no row may name a key
 * the schema no longer has. Then each key is changed alone in a parsed config: a restart-only key
 * is named by restartNeeded, a reloadable one is not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { GatewayConfigSchema, parseConfig, type GatewayConfig } from '../config/config.ts';
import { applies, KEY_APPLIES, restartNeeded } from './config-reload.ts';

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
};
const def = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;
/** The schema under optional/default/transform wrappers. */
function unwrap(s: z.ZodType): z.ZodType {
  const d = def(s);
  if (d.innerType) return unwrap(d.innerType);
  if (d.type === 'pipe') return unwrap(d.in!);
  return s;
}

/** Every key path the schema defines: objects are walked, `[]` for arrays of objects; unions give the key and its object options' keys. */
function schemaKeys(s: z.ZodType, path = ''): string[] {
  const d = def(unwrap(s));
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (d.type === 'object') return Object.entries(d.shape!).flatMap(([k, v]) => schemaKeys(v, at(k)));
  if (d.type === 'array' && def(unwrap(d.element!)).type === 'object') return schemaKeys(d.element!, `${path}[]`);
  if (d.type === 'union') {
    const objects = d.options!.filter((o) => def(unwrap(o)).type === 'object');
    return [
      ...(objects.length < d.options!.length ? [path] : []),
      ...new Set(objects.flatMap((o) => schemaKeys(o, path))),
    ];
  }
  return [path];
}

function base(): GatewayConfig {
  return parseConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      smsp: { asid: '200000000111', odsCode: 'RX1' },
      spine: {
        endpoint: 'https://spine.example/fgm',
        asid: '990101234567',
        tls: { certFile: 'a.crt', keyFile: 'a.key', caFile: 'ca.crt' },
        timeoutMs: 2000,
        rateLimit: { perSecond: 10, burst: 20 },
      },
      clients: [
        {
          id: 'portal',
          name: 'Portal',
          odsCode: 'RX1',
          origins: [],
          token: {
            issuer: 'https://idp',
            audience: 'gw',
            publicKeyFile: 'idp.pem',
            algorithms: ['ES256'],
            maxLifetimeSeconds: 600,
          },
          claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
          roleActivities: {},
          auditorRoles: [],
          priority: 'interactive',
        },
      ],
      audit: { sqliteFile: 'audit.sqlite', hmacKeyFile: 'hmac.key' },
      cdsHooks: {
        baseUrl: 'https://fgm.example',
        clients: [
          {
            id: 'epr',
            name: 'EPR',
            odsCode: 'RYJ',
            issuer: 'https://epr/',
            publicKeyFile: 'epr.pem',
            algorithms: ['ES256'],
            maxLifetimeSeconds: 300,
            priority: 'interactive',
          },
        ],
      },
    },
    '/etc/fgm',
  );
}

/** A copy of `c` with the value at `key` replaced (the first element for `[]`), whatever its type. */
function changed(c: GatewayConfig, key: string, value: unknown): GatewayConfig {
  const copy = structuredClone(c) as unknown as Record<string, unknown>;
  const parts = key.split('.');
  let at: Record<string, unknown> = copy;
  for (const [i, part] of parts.entries()) {
    const name = part.replace(/\[\]$/, '');
    const last = i === parts.length - 1;
    if (last) at[name] = value;
    else {
      at[name] ??= part.endsWith('[]') ? [{}] : {};
      at = (part.endsWith('[]') ? (at[name] as Record<string, unknown>[])[0]! : at[name]) as Record<string, unknown>;
    }
  }
  return copy as unknown as GatewayConfig;
}

describe('SIGHUP: every config key applies on reload or is named under "restart to apply"', () => {
  it('every key of the schema is in the one table, and the table names no key the schema lacks', () => {
    const keys = schemaKeys(GatewayConfigSchema);
    assert.ok(keys.length > 50, `walked ${keys.length} keys`);
    assert.deepEqual(
      keys.filter((k) => !(k in KEY_APPLIES)),
      [],
      'keys with no row in KEY_APPLIES (gateway/server/config-reload.ts): say whether a reload applies them',
    );
    assert.deepEqual(
      Object.keys(KEY_APPLIES).filter((k) => !keys.includes(k)),
      [],
      'rows for keys the schema does not have',
    );
  });

  it('each key changed alone: a restart-only key is named, a reloadable one is not', () => {
    const running = base();
    for (const key of Object.keys(KEY_APPLIES)) {
      const next = changed(running, key, { changedBy: key });
      assert.deepEqual(restartNeeded(running, next), applies(key, running) === 'restart' ? [key] : [], key);
    }
  });

  it('the listener keys the hostile review found silent are each either applied or named', () => {
    const running = base();
    for (const key of ['listen.maxConnections', 'listen.headersTimeoutMs', 'listen.keepAliveTimeoutMs'])
      assert.ok(KEY_APPLIES[key], key);
    assert.deepEqual(restartNeeded(running, changed(running, 'listen.headersTimeoutMs', 2000)), [
      'listen.headersTimeoutMs',
    ]);
  });

  it('with a shared Redis budget its rate and shares (clients[].id, clients[].spineShare) are restart-only; in-process they reload', () => {
    const inProcess = base();
    const shared = changed(
      changed(inProcess, 'spine.rateLimit.redisUrl', 'redis://127.0.0.1:6379'),
      'spine.rateLimit.localFallbackShare',
      0.5,
    );
    for (const key of ['spine.rateLimit.perSecond', 'spine.rateLimit.burst', 'spine.rateLimit.userShare']) {
      assert.deepEqual(restartNeeded(inProcess, changed(inProcess, key, 99)), [], key);
      assert.deepEqual(restartNeeded(shared, changed(shared, key, 99)), [key], key);
    }
    // The shared budget's per-client shares: a client added or re-shared by SIGHUP is named, not
    // reported applied while the shared limiter keeps its start-up shares (issue 21 review #4).
    for (const [key, value] of [
      ['clients[].spineShare', 0.5],
      ['clients[].id', 'portal-2'],
    ] as const) {
      assert.deepEqual(restartNeeded(inProcess, changed(inProcess, key, value)), [], key);
      assert.deepEqual(restartNeeded(shared, changed(shared, key, value)), [key], key);
    }
    const added = structuredClone(shared);
    added.clients.push({ ...structuredClone(shared.clients[0]!), id: 'portal-2' });
    assert.deepEqual(restartNeeded(shared, added), ['clients[].id', 'clients[].spineShare']);
    assert.deepEqual(restartNeeded(inProcess, { ...structuredClone(inProcess), clients: added.clients }), []);
  });
});
