/**
 * Secure aggregation's cryptography against its specifications, each expected value computed here from the
 * standard (AES-256 of the zero block, HKDF-SHA-256 with the documented info string, X25519 from node:crypto), never
 * by the module's own functions.
 */
import { createCipheriv, diffieHellman, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeWords, encodeWords, expandMask, generateX25519KeyPair, importPrivateKey, importPublicKey, open, pairwiseKey, sameBytes, seal, signedPairwiseMask } from '../../../stages/privacy/secureAggregationCrypto.ts';

/** The words of `bytes` read 8 at a time, big-endian, as the spec of a masked vector says. */
function words(hex: string): bigint[] {
  return (hex.match(/.{16}/g) ?? []).map((word) => BigInt(`0x${word}`));
}

/** The AES-256-CTR keystream of `key` from the all-zero counter block, `length` bytes: the PRG of the module doc. */
function keystream(key: Uint8Array, length: number): string {
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length)).toString('hex');
}

describe('mask expansion and the wire form of a vector', () => {
  it('expands a seed into its AES-256-CTR keystream, 8 bytes a word, big-endian', () => {
    // AES-256 of the all-zero block under the all-zero key (the first counter block): dc95c078a2408989ad48a21492842087.
    expect(expandMask(Buffer.alloc(32), 2)).toEqual([0xdc95c078a2408989n, 0xad48a21492842087n]);
    const seed = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    expect(expandMask(seed, 5)).toEqual(words(keystream(seed, 40)));
  });

  it('refuses a seed that is not 32 bytes, in words', () => {
    expect(() => expandMask(Buffer.alloc(31), 2)).toThrow(new Error('a mask seed has 32 bytes, got 31'));
  });

  it('writes words as 8 big-endian bytes each, reduced mod 2^64, and reads them back', () => {
    const encoded = encodeWords([1n, -1n, 1n << 64n]);
    expect(encoded).toBe(Buffer.from('0000000000000001ffffffffffffffff0000000000000000', 'hex').toString('base64'));
    expect(decodeWords(encoded, 3)).toEqual([1n, (1n << 64n) - 1n, 0n]);
  });

  it('refuses bytes that are not the round\'s number of words, in words', () => {
    const oneWord = Buffer.alloc(8).toString('base64');
    expect(() => decodeWords(oneWord, 2)).toThrow(new Error('a masked vector of 2 values has 16 bytes, got 8'));
  });
});

describe('keys', () => {
  it('refuses raw keys that are not 32 bytes, in words', () => {
    expect(() => importPrivateKey(new Uint8Array(31))).toThrow(new Error('an X25519 private key has 32 bytes, got 31'));
    expect(() => importPublicKey(Buffer.alloc(33).toString('base64'))).toThrow(new Error('an X25519 public key has 32 bytes, got 33'));
  });

  it('derives the pair key as HKDF-SHA-256 of the X25519 secret, info "veil-secagg-v1|purpose|round|lower id|higher id"', () => {
    const mine = generateX25519KeyPair();
    const theirs = generateX25519KeyPair();
    const theirPublic = importPublicKey(theirs.publicKey.toString('base64'));
    const secret = diffieHellman({ privateKey: mine.privateKeyObject, publicKey: theirPublic });
    // "gate-2" is mine, "gate-1" theirs: the info names the lower id first whichever side derives it.
    const expected = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'veil-secagg-v1|share|w-1|gate-1|gate-2', 32));
    expect(pairwiseKey('share', 'w-1', mine.privateKeyObject, theirPublic, 'gate-2', 'gate-1')).toEqual(expected);
  });

  it('refuses a small-order public key in words, naming the box that advertised it', () => {
    const mine = generateX25519KeyPair();
    // u = 0 and u = 1 are points of small order (RFC 7748 §6.1): the agreement gives the all-zero secret.
    for (const u of ['00'.repeat(32), `01${'00'.repeat(31)}`]) {
      const theirs = importPublicKey(Buffer.from(u, 'hex').toString('base64'));
      expect(() => pairwiseKey('mask', 'w-1', mine.privateKeyObject, theirs, 'gate-1', 'gate-2')).toThrow(
        new Error('box "gate-2" advertised a degenerate X25519 key (one of small order, RFC 7748 §6.1)'),
      );
    }
  });

  it('signs a pairwise mask + when the other id sorts after mine, − when before (Bonawitz et al. §3)', () => {
    const a = generateX25519KeyPair();
    const b = generateX25519KeyPair();
    const secret = diffieHellman({ privateKey: a.privateKeyObject, publicKey: importPublicKey(b.publicKey.toString('base64')) });
    const seed = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'veil-secagg-v1|mask|w-1|gate-1|gate-2', 32));
    const mask = words(keystream(seed, 24));
    expect(signedPairwiseMask('w-1', a.privateKeyObject, importPublicKey(b.publicKey.toString('base64')), 'gate-1', 'gate-2', 3)).toEqual({ mask, sign: 1n });
    expect(signedPairwiseMask('w-1', b.privateKeyObject, importPublicKey(a.publicKey.toString('base64')), 'gate-2', 'gate-1', 3)).toEqual({ mask, sign: -1n });
  });
});

describe('byte comparison and sealed shares', () => {
  it('byte strings of different lengths are not the same (and no exception)', () => {
    expect(sameBytes(Buffer.alloc(3), Buffer.alloc(4))).toBe(false);
    expect(sameBytes(Buffer.from([1, 2]), Buffer.from([1, 2]))).toBe(true);
  });

  it('a sealed message shorter than nonce + tag (12 + 16 bytes) does not open; an empty plaintext (28 bytes) does', () => {
    const key = Buffer.alloc(32, 7);
    for (const length of [0, 1, 10, 27]) expect(open(key, Buffer.alloc(length, 1).toString('base64'), 'context')).toBeUndefined();
    const empty = seal(key, new Uint8Array(0), 'context');
    expect(Buffer.from(empty, 'base64')).toHaveLength(28);
    expect(open(key, empty, 'context')).toEqual(Buffer.alloc(0));
    expect(open(key, empty, 'another context')).toBeUndefined();
  });
});
