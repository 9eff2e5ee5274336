/**
 * @module test/helpers/hono-unit
 * What the tests beside each middleware and route share: a bare Hono app with the gateway's one
 * error handler and the shipped vocabulary (so a thrown SmspError becomes the answer a client
 * sees), a client configuration, and a logger that keeps its lines. Expected codes and statuses
 * are written out in each test from the spec's table, never read from the vocabulary.
 */
import { Hono } from 'hono';
import type { ClientConfig } from '../../gateway/config/config.ts';
import type { GatewayEnv } from '../../gateway/env.ts';
import { loadVocabulary } from '../../gateway/fhir/vocabulary.ts';
import type { LogFields, Logger } from '../../gateway/observe/logger.ts';
import { errorHandler, type ReplyDeps } from '../../gateway/reply.ts';

export const vocabulary = loadVocabulary();

/** A logger that keeps every line, and the lines as one text to search for patient data. */
export function keptLines(): { log: Logger; lines: LogFields[]; text: () => string } {
  const lines: LogFields[] = [];
  return { log: (f) => void lines.push(f), lines, text: () => JSON.stringify(lines) };
}

export const replyDeps = (log: Logger = () => {}): ReplyDeps => ({
  vocabulary,
  smspAsid: '200000000111',
  smspName: 'Test SMSP',
  log,
});

/** A Hono app answering refusals as the gateway does; `requestId` is fixed so answers can be compared. */
export function unitApp(log: Logger = () => {}): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'test-request-1');
    await next();
  });
  app.onError(errorHandler(replyDeps(log)));
  return app;
}

/** A portal client with local claims (a midwife holds B0370), as parseConfig would give it. */
export function testClient(over: Partial<ClientConfig> = {}): ClientConfig {
  return {
    id: 'test-epr',
    name: 'Test Maternity NHS Trust',
    odsCode: 'RX1',
    odsCodes: ['RX1'],
    origins: ['https://epr.test'],
    token: {
      issuer: 'https://epr.test/local',
      audience: 'fgm-status-gateway',
      publicKeyFile: '/dev/null',
      algorithms: ['ES256'],
      maxLifetimeSeconds: 3600,
    },
    claims: { userId: 'sub', roles: 'roles', orgCode: 'org' },
    roleActivities: { midwife: ['B0370'], receptionist: [] },
    auditorRoles: ['ig-auditor'],
    priority: 'interactive',
    enabled: true,
    ...over,
  } as ClientConfig;
}

/** The JSON body of an answer, typed loosely for assertions. */
export const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

/** Serves `app` on a real socket (127.0.0.1, an ephemeral port), for what app.request cannot show. */
export async function listen(
  app: Hono<GatewayEnv>,
): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const { serve } = await import('@hono/node-server');
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            (server as import('node:http').Server).closeAllConnections?.();
            server.close(() => done());
          }),
      }),
    );
  });
}

/**
 * A portal's signing key and the gateway's real session verifier for `clients` (each client's
 * `token` and `systemToken` checked with that key); `sign` mints a token valid now for an issuer.
 */
export async function portalKeys(clients: readonly ClientConfig[]) {
  const { generateKeyPairSync } = await import('node:crypto');
  const { createSessionVerifier } = await import('../../gateway/auth/verify-session-token.ts');
  const { signJwt } = await import('./jwt.ts');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keys = new Map(clients.map((c) => [c.id, pem]));
  const verify = createSessionVerifier({ clients, clientKeys: keys, systemKeys: keys });
  const sign = (iss: string, aud: string, claims: Record<string, unknown>) => {
    const iat = Math.floor(Date.now() / 1000);
    return signJwt({ iss, aud, iat, exp: iat + 300, ...claims }, { alg: 'ES256', key: privateKey });
  };
  return { verify, sign };
}

/**
 * Spine as the routes meet it (after the breaker and budget), answering in process with the
 * simulator's answers — the spec's own examples templated, never the gateway's builder:
 * patient 9990000018 has an indicator assessed 2019-12-10, anyone else no record (404, spec
 * table). `busy` stands for the Spine budget spent. `asked` keeps the NHS numbers Spine was asked about.
 */
export async function spineDouble({ busy = false } = {}) {
  const { indicatorAnswer, errorAnswer } = await import('../../demo/spine/answers.ts');
  const { readRequest } = await import('../../demo/spine/read-request.ts');
  const { parseXml } = await import('../../gateway/fhir/xml.ts');
  const asked: string[] = [];
  const spine: import('../../gateway/spine/protected-spine.ts').ProtectedSpine = {
    async query(xml) {
      const req = readRequest(xml)!;
      asked.push(req.nhsNumber);
      if (busy) return { kind: 'busy', code: 'SPINE_BUSY', retryAfterSeconds: 3 };
      const a = {
        respondsTo: req.messageId,
        destinationAsid: req.sourceAsid,
        destinationName: req.sourceName,
        timestamp: new Date(),
      };
      const found = req.nhsNumber === '9990000018';
      const answer = found
        ? indicatorAnswer(a, req.nhsNumber, '2019-12-10')
        : errorAnswer(a, {
            code: 'NO_RECORD_FOUND',
            display: 'No Record Found',
            severity: 'error',
            issueType: 'not-found',
          });
      const tree = parseXml(answer);
      if (!tree.ok) throw new Error('the simulator answer does not parse');
      return { kind: 'answer', httpStatus: found ? 200 : 404, tree: tree.value };
    },
  };
  return {
    spine,
    asked,
    deps: (log: Logger = () => {}) => ({ ...replyDeps(log), spine, spineAsid: '990101234567', now: () => new Date() }),
  };
}
