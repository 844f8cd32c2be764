/**
 * Credentials of the annotation service. Annotator tokens look like `gsa_<tokenId>_<secret>`: the
 * token id (public, 12 hex) finds the row, the secret (32 random bytes) is checked against a salted
 * scrypt hash with a constant-time compare; the raw token is shown once, at creation or rotation.
 * The admin token comes from an env var and is held only as a salted scrypt hash.
 *
 * Cheap checks come first: a token of neither shape (annotator pattern, or the admin token's
 * length) is refused without hashing, and the annotator row is read on every request, so a
 * revocation, expiry or rotation takes effect at once. Only the scrypt result is remembered (by the
 * token's SHA-256, bounded map, tied to the row's hash), so scrypt runs once per token. Sessions
 * carry the credential that created them (`a:<tokenId>` or `admin:<fingerprint>`) and end when it no
 * longer stands. `AuthThrottle` limits failed attempts per client address and per token.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { AnnotationStore, Annotator, NewAnnotator, Role, Session } from '../../store/types.js';

export interface Principal {
  role: Role;
  /** null for the admin. */
  annotatorId: number | null;
  name: string;
  /** What a session created from this principal is bound to. */
  credential: string;
}

const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;
/** Fixed salt of the admin fingerprint that sessions are bound to (not a secret). */
const FINGERPRINT_SALT = '6773686620736573';

export function hashSecret(secret: string, salt: string): string {
  return scryptSync(secret, Buffer.from(salt, 'hex'), KEYLEN, SCRYPT).toString('hex');
}

let checks = 0;

/** How many scrypt verifications this process has run (tests show that refused attempts cost none). */
export function secretChecks(): number {
  return checks;
}

/** Checks a secret against its salted hash on libuv's thread pool (scrypt does not block the event loop). */
export function verifySecret(secret: string, salt: string, hash: string): Promise<boolean> {
  checks++;
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

/** A new annotator credential: the row to store and the raw token to show once (hashed off the event loop). */
export async function newAnnotatorToken(name: string): Promise<{ row: NewAnnotator; token: string }> {
  const tokenId = randomBytes(6).toString('hex');
  const secret = randomToken();
  const salt = randomBytes(16).toString('hex');
  const hash = await new Promise<string>((resolve, reject) =>
    scrypt(secret, Buffer.from(salt, 'hex'), KEYLEN, SCRYPT, (err, key) =>
      err ? reject(err) : resolve(key.toString('hex')),
    ),
  );
  return { row: { name, tokenId, salt, hash }, token: `gsa_${tokenId}_${secret}` };
}

const TOKEN_RE = /^gsa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** The token id of an annotator-shaped token (public), else undefined. */
export function tokenIdOf(token: string): string | undefined {
  return TOKEN_RE.exec(token)?.[1];
}

/** Whether an annotator's token works at `now` (not revoked, not expired). */
export function tokenUsable(a: Annotator, now: number): boolean {
  return a.revokedAt === null && (a.expiresAt === null || a.expiresAt > now);
}

export class Authenticator {
  private readonly adminSalt = randomBytes(16).toString('hex');
  private readonly adminHash: string;
  private readonly adminLength: number;
  private readonly adminCredential: string;
  /** sha256(token) → the stored hash it was verified against ('admin' for the admin token). */
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly store: AnnotationStore,
    adminToken: string,
    private readonly cacheSize = 10_000,
  ) {
    if (adminToken.length < 16) throw new Error('the admin token must be at least 16 characters');
    this.adminHash = hashSecret(adminToken, this.adminSalt);
    this.adminLength = adminToken.length;
    this.adminCredential = `admin:${hashSecret(adminToken, FINGERPRINT_SALT).slice(0, 32)}`;
  }

  /** Whether this exact token was verified before (a known-good client is never throttled). */
  knownGood(token: string): boolean {
    return this.verified.has(sha256(token));
  }

  /** The principal a bearer token stands for at `now`, or undefined. */
  async verify(token: string, now: number): Promise<Principal | undefined> {
    const m = TOKEN_RE.exec(token);
    if (m !== null) return this.verifyAnnotator(token, m[1], m[2], now);
    if (token.length !== this.adminLength) return undefined; // shape check: no hashing
    const key = sha256(token);
    if (this.verified.get(key) !== 'admin') {
      if (!(await verifySecret(token, this.adminSalt, this.adminHash))) return undefined;
      this.remember(key, 'admin');
    }
    return this.admin();
  }

  /** The principal of a stored session, or undefined when its credential was rotated, revoked or expired. */
  async sessionPrincipal(s: Session, now: number): Promise<Principal | undefined> {
    if (s.annotatorId === null) return s.credential === this.adminCredential ? this.admin() : undefined;
    const row = await this.store.annotatorById(s.annotatorId);
    if (row === undefined || !tokenUsable(row, now) || s.credential !== `a:${row.tokenId}`) return undefined;
    return { role: 'annotator', annotatorId: row.id, name: row.name, credential: s.credential };
  }

  private admin(): Principal {
    return { role: 'admin', annotatorId: null, name: 'admin', credential: this.adminCredential };
  }

  private async verifyAnnotator(
    token: string,
    tokenId: string,
    secret: string,
    now: number,
  ): Promise<Principal | undefined> {
    const row = await this.store.annotatorByTokenId(tokenId); // read every time: no stale grant
    if (row === undefined || !tokenUsable(row, now)) return undefined;
    const key = sha256(token);
    if (this.verified.get(key) !== row.hash) {
      if (!(await verifySecret(secret, row.salt, row.hash))) return undefined;
      this.remember(key, row.hash);
    }
    return { role: 'annotator', annotatorId: row.id, name: row.name, credential: `a:${row.tokenId}` };
  }

  private remember(key: string, value: string): void {
    if (this.verified.size >= this.cacheSize) this.verified.clear();
    this.verified.set(key, value);
  }
}

export interface ThrottleLimits {
  /** Failed authentications per client address per window. Default 20. */
  perAddress?: number;
  /** Failed authentications per token (annotator token id, or the admin token) per window. Default 10. */
  perToken?: number;
  /** Window, ms. Default 60 s. */
  windowMs?: number;
}

/**
 * Counts failed authentications in fixed windows per key (`ip:<address>`, `token:<id>`); a key over
 * its limit is refused before any hashing until its window ends. Bounded memory (cleared when full).
 */
export class AuthThrottle {
  private readonly counts = new Map<string, { start: number; n: number }>();
  private readonly perAddress: number;
  private readonly perToken: number;
  private readonly windowMs: number;

  constructor(
    limits: ThrottleLimits = {},
    private readonly maxKeys = 100_000,
  ) {
    this.perAddress = limits.perAddress ?? 20;
    this.perToken = limits.perToken ?? 10;
    this.windowMs = limits.windowMs ?? 60_000;
  }

  /** The keys of an attempt: the client address and what the token claims to be. */
  keys(address: string, token: string | undefined): string[] {
    if (token === undefined) return [`ip:${address}`];
    return [`ip:${address}`, `token:${tokenIdOf(token) ?? 'admin'}`];
  }

  /** Milliseconds until the attempt may be made (0 = now). */
  retryAfter(keys: readonly string[], now: number): number {
    let wait = 0;
    for (const k of keys) {
      const c = this.counts.get(k);
      if (c === undefined || now - c.start >= this.windowMs) continue;
      if (c.n >= this.limitOf(k)) wait = Math.max(wait, c.start + this.windowMs - now);
    }
    return wait;
  }

  fail(keys: readonly string[], now: number): void {
    if (this.counts.size >= this.maxKeys) this.counts.clear();
    for (const k of keys) {
      const c = this.counts.get(k);
      if (c === undefined || now - c.start >= this.windowMs) this.counts.set(k, { start: now, n: 1 });
      else c.n++;
    }
  }

  private limitOf(key: string): number {
    return key.startsWith('ip:') ? this.perAddress : this.perToken;
  }
}
