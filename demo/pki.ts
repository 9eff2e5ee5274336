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
  const leaf = Object.fromEntries(LEAVES.map((l) => [l.name, { cert: join(abs, `${l.name}.crt`), key: join(abs, `${l.name}.key`) }]));
  return { dir: abs, caCert: join(abs, 'ca.crt'), caKey: join(abs, 'ca.key'), leaf: leaf as DevPki['leaf'] };
}

async function openssl(args: string[], cwd: string) {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('the dev PKI needs the openssl command; install it (Debian: apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.trim() ?? err.message}`);
  }
}

const genKey = (file: string, cwd: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);

async function makeCa(work: string, cn: string) {
  await genKey('ca.key', work);
  await openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '3650', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt'],
    work,
  );
}

async function makeLeaf(work: string, caDir: string, l: (typeof LEAVES)[number]) {
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${l.eku}`,
    l.server ? 'subjectAltName=DNS:localhost,IP:127.0.0.1' : `subjectAltName=DNS:${l.cn}`,
  ].join('\n');
  writeFileSync(join(work, `${l.name}.ext`), ext);
  await genKey(`${l.name}.key`, work);
  await openssl(['req', '-new', '-key', `${l.name}.key`, '-subj', `/CN=${l.cn}`, '-out', `${l.name}.csr`], work);
  await openssl(
    ['x509', '-req', '-in', `${l.name}.csr`, '-CA', join(caDir, 'ca.crt'), '-CAkey', join(caDir, 'ca.key'),
      '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '825', '-sha256', '-extfile', `${l.name}.ext`, '-out', `${l.name}.crt`],
    work,
  );
}

/**
 * Creates a complete PKI in `dir`, which must not exist yet; built in a sibling temp folder and
 * renamed into place in one step, so another process sees all of it or none.
 * @param opts.caName the CA's common name (tests make a second, foreign CA).
 */
export async function createPki(dir: string, opts: { caName?: string } = {}): Promise<DevPki> {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const work = mkdtempSync(`${target}.tmp-`);
  try {
    await makeCa(work, opts.caName ?? 'fgm-status development CA');
    for (const l of LEAVES) await makeLeaf(work, work, l);
    for (const f of LEAVES.flatMap((l) => [`${l.name}.csr`, `${l.name}.ext`])) rmSync(join(work, f));
    for (const f of ['ca.key', ...LEAVES.map((l) => `${l.name}.key`)]) chmodSync(join(work, f), 0o600);
    try {
      renameSync(work, target);
    } catch (e) {
      // Another process finished first: its PKI stands, ours is discarded.
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return paths(target);
}

/**
 * The dev PKI in `dir`, created the first time. Existing files are never regenerated; a leaf
 * missing from an older PKI is issued by the existing CA.
 * @example const pki = await ensureDevPki('.data/pki'); pki.leaf.spine.cert
 */
export async function ensureDevPki(dir = '.data/pki'): Promise<DevPki> {
  const p = paths(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey)) return createPki(dir);
  for (const l of LEAVES) {
    if (existsSync(p.leaf[l.name].cert) && existsSync(p.leaf[l.name].key)) continue;
    const work = mkdtempSync(join(p.dir, `.${l.name}.tmp-`));
    try {
      await makeLeaf(work, p.dir, l);
      chmodSync(join(work, `${l.name}.key`), 0o600);
      renameSync(join(work, `${l.name}.key`), p.leaf[l.name].key);
      renameSync(join(work, `${l.name}.crt`), p.leaf[l.name].cert);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return p;
}
