/**
 * Credentials of the annotation service. Annotator tokens look like `gsa_<tokenId>_<secret>`: the
 * token id (public, 12 hex) finds the row, the secret (32 random bytes) is checked against a salted
 * scrypt hash with a constant-time compare; the raw token is shown once, at creation. The admin token
 * comes from an env var and is held only as a salted scrypt hash. Verified tokens are remembered in
 * memory by their SHA-256 (a bounded map) so scrypt's deliberate cost is paid once per token, not per
 * request. Browser sessions are random 32-byte ids (stored as SHA-256) with a per-session CSRF token.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { AnnotationStore, NewAnnotator, Role } from '../../store/types.js';

export interface Principal {
  role: Role;
  /** null for the admin. */
  annotatorId: number | null;
  name: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;

export function hashSecret(secret: string, salt: string): string {
  return scryptSync(secret, Buffer.from(salt, 'hex'), KEYLEN, SCRYPT).toString('hex');
}

/** Checks a secret against its salted hash on libuv's thread pool (scrypt does not block the event loop). */
export function verifySecret(secret: string, salt: string, hash: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(salt, 'hex'), KEYLEN, SCRYPT, (err, got) => {
      if (err) return reject(err);
      const want = Buffer.from(hash, 'hex');
      resolve(want.length === got.length && timingSafeEqual(want, got));
    });
  });
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A new annotator credential: the row to store and the raw token to show once. */
export function newAnnotatorToken(name: string): { row: NewAnnotator; token: string } {
  const tokenId = randomBytes(6).toString('hex');
  const secret = randomToken();
  const salt = randomBytes(16).toString('hex');
  return { row: { name, tokenId, salt, hash: hashSecret(secret, salt) }, token: `gsa_${tokenId}_${secret}` };
}

const TOKEN_RE = /^gsa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export class Authenticator {
  private readonly adminSalt = randomBytes(16).toString('hex');
  private readonly adminHash: string;
  private readonly verified = new Map<string, Principal>();

  constructor(
    private readonly store: AnnotationStore,
    adminToken: string,
    private readonly cacheSize = 10_000,
  ) {
    if (adminToken.length < 16) throw new Error('the admin token must be at least 16 characters');
    this.adminHash = hashSecret(adminToken, this.adminSalt);
  }

  /** The principal a bearer token stands for, or undefined (unknown, malformed or wrong secret). */
  async verify(token: string): Promise<Principal | undefined> {
    const key = sha256(token);
    const hit = this.verified.get(key);
    if (hit !== undefined) return hit;
    const p = await this.verifyUncached(token);
    if (p !== undefined) {
      if (this.verified.size >= this.cacheSize) this.verified.clear();
      this.verified.set(key, p);
    }
    return p;
  }

  private async verifyUncached(token: string): Promise<Principal | undefined> {
    const m = TOKEN_RE.exec(token);
    if (m === null) {
      return (await verifySecret(token, this.adminSalt, this.adminHash))
        ? { role: 'admin', annotatorId: null, name: 'admin' }
        : undefined;
    }
    const row = await this.store.annotatorByTokenId(m[1]);
    if (row === undefined || !(await verifySecret(m[2], row.salt, row.hash))) return undefined;
    return { role: 'annotator', annotatorId: row.id, name: row.name };
  }
}
