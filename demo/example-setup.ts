/**
 * @module demo/example-setup
 * `npm run example:setup`: creates, under `.data/`, every file `gateway/config/config.example.json`
 * names — the development PKI, the demo identity provider's key, the audit HMAC key and the
 * example client system's token keys — so the example starts as shipped
 * (`FGM_GATEWAY_CONFIG=gateway/config/config.example.json npm run gateway`). Development keys only;
 * existing files are kept.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDemoIdp } from './epr/idp.ts';
import { ensureDevPki } from './pki.ts';

function keepOrWrite(file: string, content: () => string, mode: number) {
  if (!existsSync(file)) writeFileSync(file, content(), { mode, flag: 'wx' });
}

/** The example's token key pair for one issuer: RSA, as its `PS256` allow-list needs. */
function rsaPair(dir: string, stem: string) {
  if (existsSync(join(dir, `${stem}.pub.pem`))) return;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keepOrWrite(join(dir, `${stem}.key`), () => privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  keepOrWrite(join(dir, `${stem}.pub.pem`), () => publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
}

/**
 * Creates the example's files under `dataDir` (default `.data`, beside `gateway/`).
 * @example await setUpExample('.data')
 */
export async function setUpExample(dataDir = '.data'): Promise<void> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const pki = await ensureDevPki(join(dir, 'pki'));
  loadDemoIdp(pki.dir);
  keepOrWrite(join(dir, 'audit-hmac.key'), () => randomBytes(32).toString('hex'), 0o600);
  rsaPair(pki.dir, 'chs-token');
  rsaPair(pki.dir, 'chs-system-token');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await setUpExample(process.argv[2]);
  console.log(
    'example files ready under .data/; start with: FGM_GATEWAY_CONFIG=gateway/config/config.example.json npm run gateway',
  );
}
