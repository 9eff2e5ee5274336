/**
 * @module demo/pki
 * The development PKI: a CA and the certificates the demo needs, made once with the `openssl`
 * CLI (EC P-256, SHA-256). Never for production: real Spine certificates come from NHS England.
 * Files are written so an interrupted or concurrent run never leaves a half-written key.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Leaf certificates: file stem, subject CN, extended key usage, whether it serves localhost. */
const LEAVES = [
  { name: 'spine', cn: 'spine-simulator.localhost', eku: 'serverAuth', server: true },
  { name: 'gateway-client', cn: 'fgm-gateway.spine-client', eku: 'clientAuth', server: false },
  { name: 'gateway', cn: 'fgm-gateway.localhost', eku: 'serverAuth', server: true },
  { name: 'client-system', cn: 'smsp-client-system.demo', eku: 'clientAuth', server: false },
] as const;

export type LeafName = (typeof LEAVES)[number]['name'];

export interface DevPki {
  /** Absolute folder holding the files. */
  dir: string;
  caCert: string;
  caKey: string;
  /** `cert` and `key` paths of each leaf. */
  leaf: Record<LeafName, { cert: string; key: string }>;
}

function paths(dir: string): DevPki {
  const abs = resolve(dir);
  const leaf = Object.fromEntries(
    LEAVES.map((l) => [l.name, { cert: join(abs, `${l.name}.crt`), key: join(abs, `${l.name}.key`) }]),
  );
  return { dir: abs, caCert: join(abs, 'ca.crt'), caKey: join(abs, 'ca.key'), leaf: leaf as DevPki['leaf'] };
}

async function openssl(args: string[], cwd: string) {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error('the dev PKI needs the openssl command; install it (Debian: apt-get install openssl)', {
        cause: e,
      });
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.trim() ?? err.message}`, { cause: e });
  }
}

const genKey = (file: string, cwd: string) =>
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);

async function makeCa(work: string, cn: string) {
  await genKey('ca.key', work);
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    ],
    work,
  );
}

/** A leaf to issue: file stem, subject CN, extended key usage and subject alternative names (`DNS:…`, `IP:…`). */
export interface LeafSpec {
  name: string;
  cn: string;
  eku: 'serverAuth' | 'clientAuth';
  sans: readonly string[];
}

const devLeaf = (l: (typeof LEAVES)[number]): LeafSpec => ({
  ...l,
  sans: l.server ? ['DNS:localhost', 'IP:127.0.0.1'] : [`DNS:${l.cn}`],
});

async function makeLeaf(work: string, caDir: string, l: LeafSpec) {
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${l.eku}`,
    `subjectAltName=${l.sans.join(',')}`,
  ].join('\n');
  writeFileSync(join(work, `${l.name}.ext`), ext);
  await genKey(`${l.name}.key`, work);
  await openssl(['req', '-new', '-key', `${l.name}.key`, '-subj', `/CN=${l.cn}`, '-out', `${l.name}.csr`], work);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${l.name}.csr`,
      '-CA',
      join(caDir, 'ca.crt'),
      '-CAkey',
      join(caDir, 'ca.key'),
      '-set_serial',
      `0x${randomBytes(12).toString('hex')}`,
      '-days',
      '825',
      '-sha256',
      '-extfile',
      `${l.name}.ext`,
      '-out',
      `${l.name}.crt`,
    ],
    work,
  );
}

/**
 * Creates a complete PKI in `dir`, which must not exist yet; built in a sibling temp folder and
 * renamed into place in one step, so another process sees all of it or none.
 * @param opts.caName the CA's common name (tests make a second, foreign CA).
 */
export async function createPki(dir: string, opts: { caName?: string } = {}): Promise<DevPki> {
  await issuePki(dir, opts.caName ?? 'fgm-status development CA', LEAVES.map(devLeaf));
  return paths(dir);
}

/**
 * A CA named `caName` and `leaves` issued by it, in `dir` (which must not exist yet), all at once:
 * built in a sibling temp folder and renamed into place. Returns false when another process
 * created `dir` first (its files stand, ours are discarded).
 */
export async function issuePki(dir: string, caName: string, leaves: readonly LeafSpec[]): Promise<boolean> {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const work = mkdtempSync(`${target}.tmp-`);
  try {
    await makeCa(work, caName);
    for (const l of leaves) await makeLeaf(work, work, l);
    for (const f of leaves.flatMap((l) => [`${l.name}.csr`, `${l.name}.ext`])) rmSync(join(work, f));
    for (const f of ['ca.key', ...leaves.map((l) => `${l.name}.key`)]) chmodSync(join(work, f), 0o600);
    try {
      renameSync(work, target);
      return true;
    } catch (e) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      return false;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The dev PKI in `dir`, created the first time. Existing files are never regenerated; a leaf
 * missing from an older PKI (or from a CA of one's own put there, `npm run pki`) is issued by the
 * existing CA. `report` hears, in one line, what was kept and what was added, so nobody is
 * surprised that a folder they filled half-way now holds certificates they did not make.
 * @example const pki = await ensureDevPki('.data/pki', { report: console.log }); pki.leaf.spine.cert
 */
export async function ensureDevPki(dir = '.data/pki', opts: { report?: (line: string) => void } = {}): Promise<DevPki> {
  const p = paths(dir);
  const missing = LEAVES.filter((l) => !existsSync(p.leaf[l.name].cert) || !existsSync(p.leaf[l.name].key));
  if (!existsSync(p.caCert) && !existsSync(p.caKey) && missing.length === LEAVES.length) {
    const created = await issuePki(dir, 'fgm-status development CA', LEAVES.map(devLeaf));
    if (created)
      opts.report?.(
        `dev PKI: created a development CA and ${LEAVES.map((l) => `${l.name}.crt`).join(', ')} in ${p.dir}`,
      );
    return p;
  }
  if (missing.length === 0 && existsSync(p.caCert)) return p;
  if (!existsSync(p.caCert) || !existsSync(p.caKey)) {
    // Issuing the missing leaves needs the CA's certificate and key; never a second CA beside files someone put there.
    throw new Error(
      `${p.dir} lacks ${missing.map((l) => `${l.name}.crt/.key`).join(', ')} and has no ${existsSync(p.caCert) ? 'ca.key' : 'ca.crt'} to issue them: add the files, or point FGM_PKI_DIR at an empty folder`,
    );
  }
  const kept: string[] = ['ca.crt'];
  const added: string[] = [];
  for (const l of LEAVES) {
    if (existsSync(p.leaf[l.name].cert) && existsSync(p.leaf[l.name].key)) {
      kept.push(`${l.name}.crt`);
      continue;
    }
    added.push(`${l.name}.crt`);
    const work = mkdtempSync(join(p.dir, `.${l.name}.tmp-`));
    try {
      await makeLeaf(work, p.dir, devLeaf(l));
      chmodSync(join(work, `${l.name}.key`), 0o600);
      renameSync(join(work, `${l.name}.key`), p.leaf[l.name].key);
      renameSync(join(work, `${l.name}.crt`), p.leaf[l.name].cert);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  if (added.length)
    opts.report?.(
      `dev PKI in ${p.dir}: kept ${kept.join(', ')}; issued the missing ${added.join(', ')} with its ca.key`,
    );
  return p;
}
