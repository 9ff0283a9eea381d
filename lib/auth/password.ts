// Password hashing for console accounts with node:crypto's scrypt (memory-hard, built in).
// Format: scrypt$N$r$p$salt$hash (base64url). A stored hash is verified with its own parameters,
// so older hashes keep working; needsRehash() tells the sign-in to upgrade one after a success.
//
// Parameters: OWASP's scrypt recommendation, N = 2^17, r = 8, p = 1 (128 MiB and ~0.4–0.9 s per
// hash on one core of the 2-core VMs this runs on). Node refuses scrypt above `maxmem` (32 MiB by
// default), so it is set from the parameters. At most HASH_CONCURRENCY hashes run at once per
// process: each holds 128 MiB, and a burst of sign-ins must not take the memory or every libuv
// thread (file and DNS work share that pool).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const PASSWORD_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
const KEYLEN = 32;
const SALT_BYTES = 16;
/** Stored parameters beyond these are refused rather than run (a corrupt row must not take 1 GiB). */
const MAX_N = 2 ** 20;
const MAX_RP = 32;
const HASH_CONCURRENCY = 2;

/** Memory scrypt needs for these parameters (128·N·r·p bytes), plus headroom. */
function maxmem({ N, r, p }: ScryptParams): number {
  return 128 * N * r * p + 16 * 1024 * 1024;
}

let running = 0;
const queue: (() => void)[] = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= HASH_CONCURRENCY) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    queue.shift()?.();
  }
}

function scrypt(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: maxmem(params) };
  return limited(() => new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)))));
}

export async function hashPassword(password: string, params: ScryptParams = PASSWORD_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEYLEN, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

interface Parsed extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

function parse(stored: string): Parsed | null {
  const [scheme, n, r, p, salt, hash, ...rest] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash || rest.length) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const { N } = params;
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return null;
  if (![params.r, params.p].every((x) => Number.isInteger(x) && x >= 1 && x <= MAX_RP)) return null;
  const h = Buffer.from(hash, "base64url");
  if (h.length < 16) return null;
  return { ...params, salt: Buffer.from(salt, "base64url"), hash: h };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(key, parsed.hash);
}

/** True when `stored` was made with parameters other than `params` (upgrade it after a success). */
export function needsRehash(stored: string, params: ScryptParams = PASSWORD_PARAMS): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.N !== params.N || parsed.r !== params.r || parsed.p !== params.p || parsed.hash.length !== KEYLEN;
}

const dummies = new Map<string, Promise<string>>();

/**
 * A hash of a random password with `params`: verifying against it costs what verifying a real
 * account's hash costs, so an unknown email takes as long as a known one (made once per process).
 */
export function dummyHash(params: ScryptParams = PASSWORD_PARAMS): Promise<string> {
  const k = `${params.N}/${params.r}/${params.p}`;
  let h = dummies.get(k);
  if (!h) dummies.set(k, (h = hashPassword(randomBytes(18).toString("base64url"), params)));
  return h;
}

/** A random one-time password (20 characters of base64url, 120 bits), printable as one word. */
export function generatePassword(): string {
  return randomBytes(15).toString("base64url");
}

/** The rules for a password a person chooses. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;
