/**
 * The cryptography of secure aggregation (Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning", CCS 2017, §4), on node:crypto alone:
 *
 *   key agreement   X25519 (RFC 7748): two boxes that hold each other's public key derive the same 32-byte secret
 *   key derivation  HKDF-SHA-256 (RFC 5869) of that secret, with the round, both box ids and the key's purpose as
 *                   info, so a key never serves two rounds, two pairs or two purposes
 *   mask expansion  the AES-256-CTR keystream of a 32-byte seed (zero IV: each seed is used for one vector only),
 *                   read as big-endian 64-bit words: a pseudorandom vector in (ℤ/2^64)^d
 *   share transport AES-256-GCM (authenticated: a changed byte fails decryption), nonce random per message, the
 *                   round, sender and recipient as associated data
 *
 * Arithmetic is modulo 2^64 (MODULUS_BITS) on BigInt. A box's masked vector is its input plus a sum of such
 * pseudorandom vectors, so on its own it is uniform on (ℤ/2^64)^d; the masks cancel in the sum over boxes, which is
 * decoded as the centred residue in [−2^63, 2^63) — exact while the true sum stays inside that range
 * (MAX_BOX_VALUE × 255 boxes < 2^63, see secureAggregationMessages.ts).
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

const MODULUS_BITS = 64;
/** Bytes of one coordinate of a masked vector: one word of the arithmetic modulo 2^64. */
export const WORD_BYTES = MODULUS_BITS / 8;
const KEY_BYTES = 32;
const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

// DER framing of a raw 32-byte X25519 key (RFC 8410): node:crypto imports keys as DER, the wire carries the raw bytes.
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface X25519KeyPair {
  /** Raw 32-byte public key, as advertised. */
  publicKey: Buffer;
  /** Raw 32-byte private key: what the Shamir shares of a mask key hide. */
  privateKey: Buffer;
  /** The private key as node:crypto uses it (importing a key costs several times one agreement). */
  privateKeyObject: KeyObject;
}

/** A fresh X25519 key pair from node:crypto's CSPRNG. */
export function generateX25519KeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(X25519_PKCS8_PREFIX.length),
    privateKeyObject: privateKey,
  };
}

/** A raw 32-byte X25519 private key as a node:crypto key. Throws when it is not 32 bytes. */
export function importPrivateKey(raw: Uint8Array): KeyObject {
  if (raw.length !== KEY_BYTES) throw new Error(`an X25519 private key has ${KEY_BYTES} bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** A raw 32-byte X25519 public key (base64, as advertised) as a node:crypto key. Throws when it is not 32 bytes. */
export function importPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== KEY_BYTES) throw new Error(`an X25519 public key has ${KEY_BYTES} bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw public key belonging to a private key: checks a rebuilt key against the one its owner advertised. */
export function publicKeyOf(privateKey: KeyObject): Buffer {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(X25519_SPKI_PREFIX.length);
}

export type KeyPurpose = 'mask' | 'share';

/**
 * The 32-byte key two boxes share for one purpose in one round: HKDF-SHA-256 of X25519(mine, theirs), info =
 * "veil-secagg-v1|purpose|round|lower id|higher id". Symmetric in the two boxes (ids sorted), so both derive it.
 * Throws when the agreement gives the all-zero secret (a small-order public key, RFC 7748 §6.1).
 */
export function pairwiseKey(purpose: KeyPurpose, round: string, myPrivateKey: KeyObject, theirPublicKey: KeyObject, myId: string, theirId: string): Buffer {
  let secret: Buffer;
  try {
    secret = diffieHellman({ privateKey: myPrivateKey, publicKey: theirPublicKey });
  } catch {
    // OpenSSL itself refuses the all-zero secret a small-order public key gives, in words of its own.
    throw new Error(`box "${theirId}" advertised a degenerate X25519 key (one of small order, RFC 7748 §6.1)`);
  }
  const [lower, higher] = myId < theirId ? [myId, theirId] : [theirId, myId];
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `veil-secagg-v1|${purpose}|${round}|${lower}|${higher}`, KEY_BYTES));
}

/** d pseudorandom words in [0, 2^64): the AES-256-CTR keystream of `seed` (32 bytes), 8 bytes per word, big-endian. */
export function expandMask(seed: Uint8Array, coordinates: number): bigint[] {
  if (seed.length !== KEY_BYTES) throw new Error(`a mask seed has ${KEY_BYTES} bytes, got ${seed.length}`);
  const cipher = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  const stream = cipher.update(Buffer.alloc(coordinates * WORD_BYTES));
  return Array.from({ length: coordinates }, (_, index) => stream.readBigUInt64BE(index * WORD_BYTES));
}

/** A fresh 32-byte seed (a box's self-mask b_u). */
export function randomSeed(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** SHA-256 of a seed: published in advance so that a reconstructed self-mask can be checked. */
export function seedCommitment(seed: Uint8Array): Buffer {
  return createHash('sha256').update(seed).digest();
}

/** Constant-time equality of two byte strings of any lengths. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** x mod 2^64 in [0, 2^64), for any BigInt (negative ones included). */
export function reduce(value: bigint): bigint {
  return BigInt.asUintN(MODULUS_BITS, value);
}

/** `into[i] ← into[i] + sign · vector[i]` mod 2^64, in place. */
export function addScaled(into: bigint[], vector: readonly bigint[], sign: 1n | -1n): void {
  for (let index = 0; index < into.length; index += 1) into[index] = reduce(into[index]! + sign * vector[index]!);
}

/** The centred residue of x mod 2^64: the integer in [−2^63, 2^63) congruent to it. */
export function centred(value: bigint): bigint {
  return BigInt.asIntN(MODULUS_BITS, value);
}

/** Words as 8 bytes each, big-endian, base64: the wire form of a masked vector. */
export function encodeWords(words: readonly bigint[]): string {
  const bytes = Buffer.alloc(words.length * WORD_BYTES);
  words.forEach((word, index) => bytes.writeBigUInt64BE(reduce(word), index * WORD_BYTES));
  return bytes.toString('base64');
}

/** The inverse of encodeWords; throws when the bytes are not `coordinates` words. */
export function decodeWords(encoded: string, coordinates: number): bigint[] {
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== coordinates * WORD_BYTES) throw new Error(`a masked vector of ${coordinates} values has ${coordinates * WORD_BYTES} bytes, got ${bytes.length}`);
  return Array.from({ length: coordinates }, (_, index) => bytes.readBigUInt64BE(index * WORD_BYTES));
}

/** AES-256-GCM: nonce ‖ ciphertext ‖ tag, base64. `context` is authenticated but not sent (both ends know it). */
export function seal(key: Uint8Array, plaintext: Uint8Array, context: string): string {
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

/** The inverse of seal; undefined when the bytes were changed, the key is wrong or the context differs. */
export function open(key: Uint8Array, sealed: string, context: string): Buffer | undefined {
  const bytes = Buffer.from(sealed, 'base64');
  if (bytes.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, GCM_NONCE_BYTES));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(bytes.subarray(bytes.length - GCM_TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(GCM_NONCE_BYTES, bytes.length - GCM_TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * The pairwise mask box `myId` adds for its pair with `theirId`, with its sign: +PRG(s_{u,v}) when the other id
 * sorts after mine, −PRG(s_{u,v}) when before (Bonawitz et al. §3), so the pair's two masks cancel in the sum.
 * The aggregator calls it with a dropped box's reconstructed key to take that box's masks back out.
 */
export function signedPairwiseMask(round: string, myPrivateKey: KeyObject, theirPublicKey: KeyObject, myId: string, theirId: string, coordinates: number): { mask: bigint[]; sign: 1n | -1n } {
  const seed = pairwiseKey('mask', round, myPrivateKey, theirPublicKey, myId, theirId);
  return { mask: expandMask(seed, coordinates), sign: theirId > myId ? 1n : -1n };
}
