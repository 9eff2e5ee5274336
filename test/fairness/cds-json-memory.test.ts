/**
 * @module test/fairness/cds-json-memory
 * Issue 21 review: JSON whose bytes are within the caps but whose structure is not (1 MB of
 * `[{},{},…]` is a third of a million objects) ran the gateway out of heap — four such Patients
 * from an EPR's FHIR server, or 150 CDS calls of 60 KB held while a FHIR server hung. Against the
 * BUILT gateway started with the production heap flags (`npm run gateway`'s), over real sockets:
 * the process stays up, its peak memory (read from /proc) stays bounded, and a clinician asking
 * meanwhile gets her card. Order, not time: she asks once every hostile call has arrived.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builtGateway, listeningUrl } from '../helpers/built-gateway.ts';
import { gatewayHeapFlags } from '../helpers/heap-flags.ts';
import { signJwt } from '../helpers/jwt.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const NHS_NUMBER = '9990000018'; // the simulator holds an indicator for this child
const BIRTH_DATE = '2014-03-02';
const CDS_BASE = 'https://fgm.example.nhs.uk';
const EPR_ISSUER = 'https://epr.trust.example/';
const eprKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const VERIFIED = {
  url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
  valueCodeableConcept: {
    coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' }],
  },
};
const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  id: 'p1',
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS_NUMBER, extension: [VERIFIED] }],
  birthDate: BIRTH_DATE,
  ...extra,
});
/** `n` bytes or so of empty objects: `[{},{},…]`. */
const tinyObjects = (bytes: number) => `[${'{},'.repeat(Math.floor(bytes / 3) - 1)}{}]`;

let stack: TestStack;
let child: ChildProcess | undefined;
const hanging = new Set<ServerResponse>();
let arrivals = 0;
// The EPR's FHIR server: /heavy answers a whole 1 MB Patient of tiny objects, /hang never answers.
const fhir = createServer((req, res) => {
  arrivals++;
  if (req.url!.startsWith('/hang/')) return void hanging.add(res);
  const body = JSON.stringify(patient()).replace(/}$/, `,"x":${tinyObjects(1_000_000)}}`);
  res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

before(async () => {
  stack = await startTestStack({ spineTimeoutMs: 60_000 });
  writeFileSync(
    join(stack.dir, 'memory-epr.pub.pem'),
    eprKey.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );
  fhir.listen(0, '127.0.0.1');
  await once(fhir, 'listening');
});
after(async () => {
  child?.kill('SIGKILL');
  for (const r of hanging) r.destroy();
  fhir.closeAllConnections();
  fhir.close();
  await stack?.close();
});

async function startGateway(fhirBase: string) {
  const raw = JSON.parse(readFileSync(stack.configFile, 'utf8'));
  raw.audit.sqliteFile = 'cds-json-memory-audit.sqlite';
  raw.cdsHooks = {
    baseUrl: CDS_BASE,
    allowInsecureFhirServers: true,
    clients: [
      {
        id: 'trust-epr',
        name: 'Trust EPR',
        odsCode: 'RYJ',
        issuer: EPR_ISSUER,
        publicKeyFile: 'memory-epr.pub.pem',
        algorithms: ['ES256'],
        maxLifetimeSeconds: 300,
        priority: 'interactive',
        fhirServers: [`${fhirBase}/heavy`, `${fhirBase}/hang`],
      },
    ],
  };
  const file = join(stack.dir, 'cds-json-memory.config.json');
  writeFileSync(file, JSON.stringify(raw));
  // As `npm run gateway` and the systemd unit start it: the heap it must live within.
  child = spawn(process.execPath, [...gatewayHeapFlags(), ...builtGateway('main.js')], {
    env: { ...process.env, FGM_GATEWAY_CONFIG: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c).length > 20_000 && (stderr = stderr.slice(-10_000)));
  const url = new URL(await listeningUrl(child, 'cds-json-memory'));
  const pid = child.pid!;
  return {
    url,
    alive: () => child!.exitCode === null && child!.signalCode === null,
    stderr: () => stderr,
    peakRss: () => Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024,
  };
}

function cdsCall(url: URL, body: Record<string, unknown>, user = 'Practitioner/p-1') {
  const now = Math.floor(Date.now() / 1000);
  const jwt = signJwt(
    { iss: EPR_ISSUER, aud: `${CDS_BASE}/cds-services/fgm-is`, iat: now, exp: now + 60, jti: randomUUID() },
    { alg: 'ES256', key: eprKey.privateKey, kid: 'epr-1' },
  );
  return fetch(new URL('/cds-services/fgm-is', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      hook: 'patient-view',
      hookInstance: randomUUID(),
      context: { userId: user, patientId: 'p1' },
      ...body,
    }),
  }).then(
    async (r) => ({ status: r.status, json: (await r.json().catch(() => null)) as Record<string, unknown> | null }),
    (e: Error) => ({ status: 0, json: { error: e.message } as Record<string, unknown> }),
  );
}

const fromFhir = (base: string) => ({
  fhirServer: base,
  fhirAuthorization: {
    access_token: 'token',
    token_type: 'Bearer',
    expires_in: 300,
    scope: 'patient/Patient.read',
    subject: 'fgm',
  },
});

describe('issue 21: JSON whose structure is not bounded never takes the gateway down', () => {
  it(
    'SMSP-PERF-001 eight 1 MB Patients of tiny objects from the FHIR server, then 150 CDS calls of 60 KB of tiny objects held on a hanging FHIR server: the gateway stays up, its peak memory grows by under 64 MB, and her card comes',
    { timeout: 120_000 },
    async () => {
      const base = `http://127.0.0.1:${(fhir.address() as AddressInfo).port}`;
      const gw = await startGateway(base);
      const hers = () => cdsCall(gw.url, { prefetch: { patient: patient() } });
      // Her path warmed first, so the baseline includes it.
      assert.equal((await hers()).json?.cards instanceof Array, true);
      const baseline = gw.peakRss();

      arrivals = 0;
      const heavy = Array.from({ length: 8 }, (_, i) =>
        cdsCall(gw.url, fromFhir(`${base}/heavy`), `Practitioner/h-${i}`),
      );
      const heavyAnswers = await Promise.all(heavy);
      assert.equal(arrivals, 8, 'every heavy Patient was fetched');
      for (const a of heavyAnswers)
        assert.deepEqual([a.status, a.json?.code], [412, 'PATIENT_DATA_UNAVAILABLE'], JSON.stringify(a.json));
      assert.ok(gw.alive(), `the gateway is up: ${gw.stderr().slice(-500)}`);

      // 60 KB bodies (under the 64 KB body cap), each naming its own EPR user, waiting on a FHIR
      // server that never answers (its 2 s deadline) unless refused first.
      const junk = tinyObjects(60_000);
      const held = Array.from({ length: 150 }, (_, i) =>
        cdsCall(gw.url, { ...fromFhir(`${base}/hang`), prefetch: { junk: JSON.parse(junk) } }, `Practitioner/j-${i}`),
      );
      const heldAnswers = await Promise.all(held);
      const refusedAtOnce = heldAnswers.filter(
        (a) => a.status === 400 && a.json?.code === 'INPUT_MESSAGE_VALIDATION_ERROR',
      );
      assert.equal(
        refusedAtOnce.length,
        150,
        `each over-structured body refused as input (SMSP-0001), none held: ${JSON.stringify(heldAnswers.find((a) => !refusedAtOnce.includes(a)))}`,
      );
      assert.ok(gw.alive(), `the gateway is up: ${gw.stderr().slice(-500)}`);

      const mine = await hers();
      assert.equal(mine.status, 200);
      assert.equal((mine.json?.cards as unknown[]).length, 1, 'her indicator card');
      const grew = gw.peakRss() - baseline;
      assert.ok(grew < 64 * 1024 * 1024, `peak RSS grew by ${(grew / 1048576).toFixed(1)} MB`);
    },
  );

  it(
    'SMSP-PERF-001 190 CDS calls of 60 KB within every structure bound (a prefetched user of 2,500 keys), held on a hanging FHIR server: bodies beyond the memory budget hear the busy tone, the rest are let go of while they wait, the gateway stays up and her card comes (review 21b H1)',
    { timeout: 120_000 },
    async () => {
      child?.kill('SIGKILL');
      const base = `http://127.0.0.1:${(fhir.address() as AddressInfo).port}`;
      const gw = await startGateway(base);
      const hers = () => cdsCall(gw.url, { prefetch: { patient: patient() } });
      assert.equal((await hers()).json?.cards instanceof Array, true);
      const baseline = gw.peakRss();

      // ~60 KB each, 2,500 members: under the 64 KB cap and the JSON bounds, so parsed.
      const user = Object.fromEntries(
        Array.from({ length: 2500 }, (_, i) => [`k${i}`, `v${String(i).padStart(14, '0')}`]),
      );
      arrivals = 0;
      const held = Array.from({ length: 190 }, (_, i) =>
        cdsCall(gw.url, { ...fromFhir(`${base}/hang`), prefetch: { user } }, `Practitioner/u-${i}`),
      );
      // Every call the budget let in is waiting on the FHIR server when she asks (the rest have had their busy tone).
      let busy = 0;
      held.forEach((p) => void p.then((a) => a.status === 429 && busy++));
      while (arrivals + busy < 190) await new Promise((r) => setTimeout(r, 20));
      assert.ok(arrivals > 0 && busy > 0, `${arrivals} waiting on the FHIR server, ${busy} busy`);
      const mine = await hers();
      assert.equal(mine.status, 200, JSON.stringify(mine.json));
      assert.equal((mine.json?.cards as unknown[]).length, 1, 'her indicator card');
      for (const a of await Promise.all(held))
        assert.ok(
          (a.status === 429 && a.json?.code === 'SPINE_BUSY') ||
            (a.status === 412 && a.json?.code === 'PATIENT_DATA_UNAVAILABLE'),
          JSON.stringify(a),
        );
      assert.ok(gw.alive(), `the gateway is up: ${gw.stderr().slice(-500)}`);
      const grew = gw.peakRss() - baseline;
      assert.ok(grew < 64 * 1024 * 1024, `peak RSS grew by ${(grew / 1048576).toFixed(1)} MB`);
    },
  );

  it(
    "SMSP-PERF-001 250 CDS calls rotating context.userId, each needing a Patient from a FHIR server that hangs: at most half the client's in-flight bound waits on it, the rest hear the busy tone at once, and a clinician of the same EPR with her Patient prefetched gets her card (hostile review H3)",
    { timeout: 120_000 },
    async () => {
      child?.kill('SIGKILL');
      const base = `http://127.0.0.1:${(fhir.address() as AddressInfo).port}`;
      const gw = await startGateway(base);
      const hers = () => cdsCall(gw.url, { prefetch: { patient: patient() } }, 'Practitioner/her');
      assert.equal((await hers()).status, 200);
      arrivals = 0;
      const flood = 250;
      const held = Array.from({ length: flood }, (_, i) =>
        cdsCall(gw.url, fromFhir(`${base}/hang`), `Practitioner/rotated-${i}`),
      );
      let busy = 0;
      held.forEach((p) => void p.then((a) => a.status === 429 && busy++));
      // Every call is either waiting on the FHIR server or has had its busy tone when she asks.
      while (arrivals + busy < flood) await new Promise((r) => setTimeout(r, 20));
      assert.equal(arrivals, 100, 'half of listen.maxInFlightPerClient (200) waits on the FHIR server');
      const mine = await hers();
      assert.equal(mine.status, 200, JSON.stringify(mine.json));
      assert.equal((mine.json?.cards as unknown[]).length, 1, 'her indicator card');
      const answers = await Promise.all(held);
      assert.equal(
        answers.filter((a) => a.status === 429 && a.json?.code === 'SPINE_BUSY').length,
        flood - 100,
        'the rest heard the busy tone',
      );
      assert.ok(gw.alive(), `the gateway is up: ${gw.stderr().slice(-500)}`);
    },
  );
});
