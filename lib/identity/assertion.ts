// The signed identity header that Gatehouse hands a proxy on allow (DESIGN.md §2), in IAP's
// shape, so that a backend written for IAP verifies it unchanged:
//
//   x-goog-iap-jwt-assertion          ES256 JWT, kid in /.well-known/jwks.json
//     header  { alg: "ES256", kid, typ: "JWT" }
//     claims  iss    GATEHOUSE_PUBLIC_URL + "/iap" (ring.assertionIssuer) — never the ID tokens'
//                    issuer: a backend that pins it cannot be fed an ID token, and Gatehouse
//                    refuses anything with this issuer as a credential
//             aud    the resource's audience (/projects/{number}/global/backendServices/{id}, …)
//             sub    "accounts.google.com:{subjectId}"            (as IAP)
//             email  the principal's email
//             hd     the email's domain — users only, and not for consumer Google domains
//                    (gmail.com, googlemail.com): IAP sets hd only for accounts of a hosted
//                    (Workspace / Cloud Identity) domain; service accounts have none.
//             iat, exp = iat + 600 s (IAP: ≤ 10 min)
//             google { access_levels: [...] }                  (always present, possibly empty)
//   x-goog-authenticated-user-email   "accounts.google.com:{email}"
//   x-goog-authenticated-user-id      "accounts.google.com:{subjectId}"
//
// This is on the decision hot path: signing costs ~0.1 ms, so an assertion is reused per
// (principal, subjectId, audience, access levels) while it has more than
// ASSERTION_REUSE_MIN_REMAINING_SEC left (its `iat` is then up to 5 min in the past, well within
// what verifiers accept). The cache is an LRU bounded to ASSERTION_CACHE_SIZE entries per ring.
import { createHash } from "node:crypto";
import { ASSERTION_LIFETIME_SEC, type KeyRing } from "./keys";

export const IAP_ASSERTION_HEADER = "x-goog-iap-jwt-assertion";
export const IAP_EMAIL_HEADER = "x-goog-authenticated-user-email";
export const IAP_USER_ID_HEADER = "x-goog-authenticated-user-id";
/** The prefix IAP puts on the email and id headers and on `sub`. */
export const IAP_ID_PREFIX = "accounts.google.com:";

/** An assertion is reused while it has more than this left (so: for its first 5 minutes). */
export const ASSERTION_REUSE_MIN_REMAINING_SEC = 300;
export const ASSERTION_CACHE_SIZE = 10_000;

export interface IapHeaders {
  "x-goog-iap-jwt-assertion": string;
  "x-goog-authenticated-user-email": string;
  "x-goog-authenticated-user-id": string;
}

export interface IapIdentity {
  /** Member string: "user:{email}" or "serviceAccount:{email}". */
  principal: string;
  email: string;
  /** Stable id: Principal.id, or subjectIdForEmail(email) for a principal Gatehouse does not store. */
  subjectId: string;
  /** The resource's JWT audience. */
  audience: string;
  /** Satisfied access levels (full names), in the order they should appear. */
  accessLevels: readonly string[];
  /** Epoch milliseconds or a Date; defaults to the current time. */
  now?: number | Date;
}

const CONSUMER_DOMAINS = new Set(["gmail.com", "googlemail.com"]);

/** The `hd` claim: the email's domain for users of a hosted domain; undefined otherwise. */
export function hostedDomain(principal: string, email: string): string | undefined {
  if (!principal.startsWith("user:")) return undefined;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return domain && !CONSUMER_DOMAINS.has(domain) ? domain : undefined;
}

/**
 * A stable subject id for a principal that has no Principal row (e.g. a user known only from an
 * external issuer's token, which should pass its own `sub` instead when it has one): 21 decimal
 * digits, like a Google account id, derived from the normalised email.
 */
export function subjectIdForEmail(email: string): string {
  const h = createHash("sha256").update(email.trim().toLowerCase()).digest();
  return (h.readBigUInt64BE(0) % 10n ** 21n).toString().padStart(21, "0");
}

interface Entry {
  headers: Promise<IapHeaders>;
  /** Epoch ms after which a new assertion is signed. */
  renewAt: number;
}

const caches = new WeakMap<KeyRing, Map<string, Entry>>();

/** Drops every cached assertion of `ring` (e.g. after an emergency key rotation). */
export function clearAssertionCache(ring: KeyRing): void {
  caches.get(ring)?.clear();
}

/**
 * The three IAP identity headers for `identity`, signed by `ring`. Reuses a cached assertion
 * when one with more than ASSERTION_REUSE_MIN_REMAINING_SEC left exists; concurrent callers for
 * the same identity share one signing. Rejects (AppError UNAVAILABLE) when the ring cannot sign.
 * The returned object is frozen and shared: copy it before changing it.
 */
export function buildIapHeaders(ring: KeyRing, identity: IapIdentity): Promise<IapHeaders> {
  const now = identity.now === undefined ? Date.now() : typeof identity.now === "number" ? identity.now : identity.now.getTime();
  let cache = caches.get(ring);
  if (!cache) caches.set(ring, (cache = new Map()));
  const levels = identity.accessLevels;
  const key =
    identity.principal + "\n" + identity.subjectId + "\n" + identity.audience + (levels.length ? "\n" + levels.join("\n") : "");
  const hit = cache.get(key);
  if (hit && now < hit.renewAt && now >= hit.renewAt - (ASSERTION_LIFETIME_SEC - ASSERTION_REUSE_MIN_REMAINING_SEC) * 1000) {
    // LRU: move to the most recent end.
    cache.delete(key);
    cache.set(key, hit);
    return hit.headers;
  }
  const iat = Math.floor(now / 1000);
  const entry: Entry = {
    headers: sign(ring, identity, now),
    renewAt: (iat + ASSERTION_LIFETIME_SEC - ASSERTION_REUSE_MIN_REMAINING_SEC) * 1000,
  };
  cache.delete(key);
  cache.set(key, entry);
  if (cache.size > ASSERTION_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  const c = cache;
  entry.headers.catch(() => {
    if (c.get(key) === entry) c.delete(key);
  });
  return entry.headers;
}

const headersJson = new WeakMap<IapHeaders, string>();

/**
 * `JSON.stringify(headers)`, memoised per (frozen, shared) headers object: the decision API
 * returns the same ~1 KB assertion for every request of an identity for minutes.
 */
export function iapHeadersJson(headers: IapHeaders): string {
  let text = headersJson.get(headers);
  if (text === undefined) headersJson.set(headers, (text = JSON.stringify(headers)));
  return text;
}

async function sign(ring: KeyRing, id: IapIdentity, now: number): Promise<IapHeaders> {
  if (!id.principal.startsWith("user:") && !id.principal.startsWith("serviceAccount:")) {
    throw new TypeError(`an IAP assertion is for a user: or serviceAccount: principal, not "${id.principal}"`);
  }
  const hd = hostedDomain(id.principal, id.email);
  const claims = {
    sub: IAP_ID_PREFIX + id.subjectId,
    email: id.email,
    ...(hd ? { hd } : {}),
    google: { access_levels: [...id.accessLevels] },
  };
  const jwt = await ring.sign(claims, { audience: id.audience, lifetimeSec: ASSERTION_LIFETIME_SEC, now, kind: "assertion" });
  return Object.freeze({
    [IAP_ASSERTION_HEADER]: jwt,
    [IAP_EMAIL_HEADER]: IAP_ID_PREFIX + id.email,
    [IAP_USER_ID_HEADER]: IAP_ID_PREFIX + id.subjectId,
  } as IapHeaders);
}
