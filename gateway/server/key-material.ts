/**
 * @module server/key-material
 * Reads every certificate and key the configuration names, once, at start-up, and checks each
 * pair belongs together, so a bad file stops the gateway before it serves anyone.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type GatewayConfig } from '../config/config.ts';

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

export interface KeyMaterial {
  listenTls?: TlsMaterial;
  spineTls: TlsMaterial;
  /** Session token verification keys (PEM) of clients whose `token` has a `publicKeyFile`, by client id. */
  clientKeys: Map<string, string>;
  /** The same for `systemToken` (the FHIR interface's client-system credential), by client id. */
  systemKeys: Map<string, string>;
  hmacKey: Buffer;
}

function read(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `config: ${key}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function certificate(pem: string, file: string, key: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`config: ${key}: ${file} is not a PEM certificate`);
  }
}

function tlsPair(files: { certFile: string; keyFile: string; caFile: string }, key: string): TlsMaterial {
  const cert = read(files.certFile, `${key}.certFile`);
  const privateKey = read(files.keyFile, `${key}.keyFile`);
  const ca = read(files.caFile, `${key}.caFile`);
  const x509 = certificate(cert, files.certFile, `${key}.certFile`);
  certificate(ca, files.caFile, `${key}.caFile`);
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(privateKey);
  } catch {
    throw new ConfigError(`config: ${key}.keyFile: ${files.keyFile} is not a PEM private key`);
  }
  if (!x509.checkPrivateKey(keyObject)) {
    throw new ConfigError(`config: ${key}.keyFile: ${files.keyFile} does not match the certificate ${files.certFile}`);
  }
  return { cert, key: privateKey, ca };
}

/** The algorithms each kind of key can verify (JWA, RFC 7518 §3; EdDSA RFC 8037). */
function algorithmsFor(k: KeyObject): readonly string[] {
  if (k.asymmetricKeyType === 'rsa' || k.asymmetricKeyType === 'rsa-pss')
    return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  if (k.asymmetricKeyType === 'ec')
    return (
      ({ prime256v1: ['ES256'], secp384r1: ['ES384'], secp521r1: ['ES512'] } as Record<string, string[]>)[
        k.asymmetricKeyDetails?.namedCurve ?? ''
      ] ?? []
    );
  // jose's EdDSA is Ed25519 only: an Ed448 key would refuse every token, so nothing here fits it.
  if (k.asymmetricKeyType === 'ed25519') return ['EdDSA'];
  return [];
}

/**
 * A token verification key must be a public key that every allowed algorithm can use. Node would
 * derive a public key from a private key or a certificate without a word, so an identity
 * provider's private key copied here, or a CA certificate, would start and then fail every token.
 * `whose` names the holder of the private key ("the identity provider's", "the EPR's").
 * Messages name the file and its kind, never its content.
 */
export function verificationKey(
  pem: string,
  file: string,
  key: string,
  algorithms: readonly string[],
  whose = "the identity provider's",
): KeyObject {
  // Every block counts: `openssl ecparam -genkey` writes EC PARAMETERS before the private key, and a
  // public key followed by its private key would otherwise pass on its first block.
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]!);
  if (blocks.some((b) => b.includes('PRIVATE KEY')))
    throw new ConfigError(
      `config: ${key}: ${file} is a private key; give ${whose} public key (and keep the private key off this server)`,
    );
  if (blocks.some((b) => b.includes('CERTIFICATE')))
    throw new ConfigError(
      `config: ${key}: ${file} is a certificate; give ${whose} public key (openssl x509 -pubkey -noout -in ${file})`,
    );
  if (blocks.length === 0 && pem.trimStart().startsWith('{'))
    throw new ConfigError(
      `config: ${key}: ${file} is JSON (a JWK or key set?); give ${whose} public key as PEM, or its key set's URL as jwksUrl`,
    );
  if (blocks.length > 1)
    throw new ConfigError(
      `config: ${key}: ${file} holds ${blocks.length} PEM blocks (${blocks.join(', ')}); give one public key`,
    );
  let k: KeyObject;
  try {
    if (blocks.length !== 1 || (blocks[0] !== 'PUBLIC KEY' && blocks[0] !== 'RSA PUBLIC KEY')) throw new Error();
    k = createPublicKey(pem);
  } catch {
    throw new ConfigError(`config: ${key}: ${file} is not a PEM public key`);
  }
  // jose refuses an RSA key under 2048 bits for every RS/PS algorithm (RFC 7518 §3.3), so such a key
  // would start and then refuse each token as "key does not fit the algorithm".
  const bits = k.asymmetricKeyDetails?.modulusLength;
  if ((k.asymmetricKeyType === 'rsa' || k.asymmetricKeyType === 'rsa-pss') && bits !== undefined && bits < 2048)
    throw new ConfigError(
      `config: ${key}: ${file} is a ${bits}-bit RSA key; tokens need RSA keys of at least 2048 bits (RFC 7518 §3.3)`,
    );
  const usable = algorithmsFor(k);
  const unfit = algorithms.filter((a) => !usable.includes(a));
  if (unfit.length) {
    const kind =
      k.asymmetricKeyType === 'ec'
        ? `EC ${k.asymmetricKeyDetails?.namedCurve ?? ''}`.trim()
        : (k.asymmetricKeyType ?? 'unknown').toUpperCase();
    const fits = usable.length ? ` (it fits ${usable.join(', ')})` : '';
    // One key checks every token: an algorithm it cannot do would refuse each token signed so, as if forged.
    throw new ConfigError(
      unfit.length === algorithms.length
        ? `config: ${key}: ${file} is an ${kind} key, which none of algorithms [${algorithms.join(', ')}] can verify${fits}`
        : `config: ${key}: ${file} is an ${kind} key, which cannot verify ${unfit.join(', ')} of algorithms [${algorithms.join(', ')}]${fits}: take ${unfit.length > 1 ? 'them' : 'it'} out of algorithms`,
    );
  }
  return k;
}

/**
 * Loads the PEM files of `config`; throws a ConfigError naming the key and file at fault
 * (unreadable, not PEM, a private key that does not match its certificate, or a verification key
 * that is private, a certificate or of the wrong type).
 * @example const material = readKeyMaterial(config); https.createServer({ ...material.listenTls })
 */
export function readKeyMaterial(config: GatewayConfig): KeyMaterial {
  const clientKeys = new Map<string, string>();
  const systemKeys = new Map<string, string>();
  config.clients.forEach((client, i) => {
    for (const [kind, keys] of [
      ['token', clientKeys],
      ['systemToken', systemKeys],
    ] as const) {
      const f = client[kind]?.publicKeyFile;
      if (!f) continue;
      const key = `clients.${i}.${kind}.publicKeyFile`;
      const pem = read(f, key);
      verificationKey(pem, f, key, client[kind]!.algorithms);
      keys.set(client.id, pem);
    }
  });
  // The anchors' signer is who the gateway cannot impersonate: its private key here would let the gateway forge them.
  const anchorFile = config.audit.anchorPublicKeyFile;
  if (anchorFile)
    verificationKey(
      read(anchorFile, 'audit.anchorPublicKeyFile'),
      anchorFile,
      'audit.anchorPublicKeyFile',
      ['EdDSA'],
      "the anchor signer's",
    );
  const hmacKey = Buffer.from(read(config.audit.hmacKeyFile, 'audit.hmacKeyFile').trim());
  if (hmacKey.length < 32)
    throw new ConfigError(`config: audit.hmacKeyFile: ${config.audit.hmacKeyFile} holds fewer than 32 bytes`);
  return {
    ...(config.listen.tls ? { listenTls: tlsPair(config.listen.tls, 'listen.tls') } : {}),
    spineTls: tlsPair(config.spine.tls, 'spine.tls'),
    clientKeys,
    systemKeys,
    hmacKey,
  };
}
