/**
 * @module demo/make-pki
 * `npm run pki -- --out <dir> --ca-name <CN> --server-name <DNS or IP>… --client-name <CN>…`:
 * a PKI of one's own for a test environment (never for Spine itself, whose certificates come from
 * NHS England): a CA, one server certificate for every --server-name, one client certificate per
 * --client-name (default one, fgm-gateway). EC P-256, made by the same code as the dev PKI (demo/pki.ts).
 */
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { issuePki, type LeafSpec } from './pki.ts';

const USAGE =
  'usage: npm run pki -- --out <dir> --ca-name <name> --server-name <dns-or-ip> [--server-name …] [--client-name <name> …]';

/** A DNS name (labels of letters, digits, hyphens; `*.` first allowed) or an IPv4/IPv6 address. */
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/** A client name becomes a file stem and a subject CN: keep it to what is safe in both. */
const CLIENT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

interface PkiPlan {
  out: string;
  caName: string;
  leaves: LeafSpec[];
}

/** Reads the command line into what to make; throws a one-line Error naming the bad option. */
function planPki(argv: readonly string[]): PkiPlan {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        out: { type: 'string' },
        'ca-name': { type: 'string' },
        'server-name': { type: 'string', multiple: true },
        'client-name': { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message.split('\n')[0]}\n${USAGE}`, { cause: e });
  }
  const { out, 'ca-name': caName, 'server-name': servers = [], 'client-name': clients = ['fgm-gateway'] } = values;
  if (!out) throw new Error(`--out is required (a folder that does not exist yet)\n${USAGE}`);
  if (!caName?.trim()) throw new Error(`--ca-name is required (the CA's subject common name)\n${USAGE}`);
  // openssl -subj reads "/" and "=" as separators: a CN containing them would silently become another subject.
  if (/[/=\\\n]/.test(caName)) throw new Error(`--ca-name "${caName}" may not contain / = \\ or a newline`);
  if (servers.length === 0)
    throw new Error(`--server-name is required at least once (the server's DNS name or IP address)\n${USAGE}`);
  for (const s of servers)
    if (!isIP(s) && !DNS_NAME.test(s)) throw new Error(`--server-name "${s}" is neither a DNS name nor an IP address`);
  for (const c of clients)
    if (!CLIENT_NAME.test(c))
      throw new Error(`--client-name "${c}" must be letters, digits, ".", "_" or "-" (it names the files)`);
  if (new Set(clients).size !== clients.length) throw new Error('--client-name: each client name once');
  const dir = resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(
      `--out ${dir} already holds files: a new PKI is made only in an empty or new folder, so no key is ever overwritten`,
    );
  const leaves: LeafSpec[] = [
    {
      name: 'server',
      cn: servers[0]!,
      eku: 'serverAuth',
      sans: servers.map((s) => (isIP(s) ? `IP:${s}` : `DNS:${s}`)),
    },
    ...clients.map((c): LeafSpec => ({ name: `client-${c}`, cn: c, eku: 'clientAuth', sans: [`DNS:${c}`] })),
  ];
  return { out: dir, caName: caName.trim(), leaves };
}

async function main() {
  const plan = planPki(process.argv.slice(2));
  // issuePki renames a finished folder into place: an empty one already there would stop it.
  if (existsSync(plan.out)) rmdirSync(plan.out);
  if (!(await issuePki(plan.out, plan.caName, plan.leaves)))
    throw new Error(`${plan.out} was created by someone else meanwhile; nothing written`);
  const lines = [
    `PKI written to ${plan.out} (EC P-256, SHA-256; keys mode 0600):`,
    `  ca.crt, ca.key                    CA "${plan.caName}" (10 years): trust ca.crt, keep ca.key offline`,
    ...plan.leaves.map(
      (l) =>
        `  ${`${l.name}.crt, ${l.name}.key`.padEnd(34)}${l.eku === 'serverAuth' ? 'server' : 'client'} "${l.cn}" (825 days), ${l.sans.join(', ')}`,
    ),
    '',
    'For the simulator: FGM_PKI_DIR=<this folder> keeps these files and issues the spine, gateway and',
    'gateway-client certificates it needs from ca.key (it prints what it added). docs/operating.md, "PKI of your own".',
  ];
  console.log(lines.join('\n'));
}

try {
  await main();
} catch (e) {
  console.error(`npm run pki: ${(e as Error).message}`);
  process.exit(1);
}
