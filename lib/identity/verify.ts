// Bearer ID tokens → an identity (DESIGN.md §2 "Identities accepted").
//
// Two kinds of issuer:
//   - Gatehouse itself (iss === ring.issuer = GATEHOUSE_PUBLIC_URL): tokens from the token
//     endpoint and the CLI, verified against the in-memory KeyRing (no HTTP), ES256 only.
//     Accepted audiences: exactly the ones the caller names — on the decision path, the
//     resource's own audience, so a token minted for one resource is refused for every other
//     (and a token minted for some other service is not replayable here as its holder).
//   - trusted issuers (TrustedIssuer rows): keys from the issuer's JWKS (jwksUri, else OIDC
//     discovery; https only, except loopback), fetched and cached with jose's createRemoteJWKSet
//     — refetched when it is older than 10 min or when a token names an unknown kid (at most
//     every 30 s), so rotation at the issuer is picked up. `aud` must be one of the issuer's
//     configured audiences (an issuer with none accepts no token). RS256 or ES256 only.
//     `email_verified` must be true (unless the issuer is configured with allowUnverifiedEmails),
//     the email's domain must be one of the issuer's configured `domains`, and a trusted issuer
//     never asserts a service account: `serviceAccount:` identities come only from Gatehouse's
//     own tokens (whose keys Gatehouse controls).
// Never a credential: the IAP assertion Gatehouse signs for backends (iss = ring.assertionIssuer).
// An assertion leaked from a backend's logs must not open anything.
// Both: exp required; exp/nbf/iat checked with a 30 s clock tolerance; `email` required and
// valid (look-alike Unicode refused, as everywhere).
//
// A principal is `serviceAccount:{email}` when the email's domain is (a subdomain of)
// gserviceaccount.com — iam., appspot., developer. — else `user:{email}`.
//
// Failures are values, not exceptions (the decision API maps every one to UNAUTHENTICATED).
// Successful verifications are cached per token string until min(exp, 5 min), so a client
// presenting the same token on every request costs one Map lookup.
import { decodeJwt, decodeProtectedHeader, jwtVerify, createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Db } from "@/lib/db/client";
import { checkEmail } from "@/lib/policy/members";
import type { KeyRing } from "./keys";

/** Algorithms accepted from trusted issuers. Never "none", never HS*. */
export const EXTERNAL_ALGORITHMS = ["RS256", "ES256"] as const;
/** Gatehouse signs ES256 only. */
export const OWN_ALGORITHMS = ["ES256"] as const;
export const CLOCK_TOLERANCE_SEC = 30;
/** Tokens longer than this are refused unparsed. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export type TokenFailureReason =
  | "malformed" // not a JWS compact JWT, or required claims missing / of the wrong type
  | "unknown_issuer" // iss is neither Gatehouse nor a trusted issuer
  | "bad_signature" // signature invalid, algorithm not allowed (none, HS256, …), or kid unknown to the issuer's JWKS
  | "expired"
  | "not_yet_valid" // nbf (or iat) in the future beyond the tolerance
  | "wrong_audience"
  | "missing_email" // no usable email claim
  | "email_unverified" // email_verified is not true (and the issuer is not configured to allow that)
  | "domain_not_allowed" // the email's domain is not one the issuer may assert (or a service account from a trusted issuer)
  | "not_a_credential" // Gatehouse's own IAP assertion, presented as a credential
  | "issuer_unavailable"; // discovery or JWKS could not be fetched

export interface VerifiedIdentity {
  /** "user:{email}" or "serviceAccount:{email}" (email lower-cased). */
  principal: string;
  email: string;
  /** The token's `sub` (for Gatehouse's own tokens: Principal.id). */
  subjectId: string;
  issuer: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export type VerifyResult = { ok: true; identity: VerifiedIdentity } | { ok: false; reason: TokenFailureReason; message: string };

export interface TrustedIssuerConfig {
  issuer: string;
  audiences: readonly string[];
  /** Email domains this issuer may assert (exact match, lower case); none = no identity at all. */
  domains: readonly string[];
  /** Accept tokens whose `email_verified` is not true (off by default). */
  allowUnverifiedEmails?: boolean;
  /** Defaults to discovery ({issuer}/.well-known/openid-configuration → jwks_uri). */
  jwksUri?: string | null;
}

/** http is allowed for loopback issuers only (tests, a local IdP); everything else must be https. */
export function isSecureIssuerUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === "https:") return true;
  if (u.protocol !== "http:") return false;
  const h = u.hostname;
  return h === "localhost" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface TokenVerifierOptions {
  ring: KeyRing;
  issuers?: readonly TrustedIssuerConfig[];
  /** Discovery and JWKS fetch timeout (default 5 s). */
  fetchTimeoutMs?: number;
  /** Minimum time between JWKS refetches on an unknown kid (default 30 s, jose's). */
  jwksCooldownMs?: number;
  /** Maximum age of a cached JWKS (default 10 min). */
  jwksMaxAgeMs?: number;
  /** After a failed discovery, how long before trying again (default 30 s). */
  discoveryRetryMs?: number;
  /** How long a successful verification is reused (default 5 min; 0 disables). */
  resultCacheMs?: number;
  resultCacheSize?: number;
}

interface IssuerState {
  config: TrustedIssuerConfig;
  keys: JWTVerifyGetKey | null;
  pending: Promise<JWTVerifyGetKey> | null;
  failedAt: number;
  failure: string;
}

interface CachedResult {
  identity: VerifiedIdentity;
  /** Epoch ms until which the result may be reused. */
  until: number;
  /** Own tokens: the audiences of the token (checked again per call). */
  aud: readonly string[] | null;
}

/** `serviceAccount:` for Google service-account domains, `user:` otherwise. */
export function principalForEmail(email: string): string {
  const domain = email.slice(email.lastIndexOf("@") + 1);
  const sa = domain === "gserviceaccount.com" || domain.endsWith(".gserviceaccount.com");
  return `${sa ? "serviceAccount" : "user"}:${email}`;
}

export class TokenVerifier {
  readonly #ring: KeyRing;
  #issuers = new Map<string, IssuerState>();
  #issuersKey = "";
  readonly #results = new Map<string, CachedResult>();
  readonly #opts: Required<Omit<TokenVerifierOptions, "ring" | "issuers">>;

  constructor(opts: TokenVerifierOptions) {
    this.#ring = opts.ring;
    this.#opts = {
      fetchTimeoutMs: opts.fetchTimeoutMs ?? 5000,
      jwksCooldownMs: opts.jwksCooldownMs ?? 30_000,
      jwksMaxAgeMs: opts.jwksMaxAgeMs ?? 600_000,
      discoveryRetryMs: opts.discoveryRetryMs ?? 30_000,
      resultCacheMs: opts.resultCacheMs ?? 300_000,
      resultCacheSize: opts.resultCacheSize ?? 10_000,
    };
    this.setIssuers(opts.issuers ?? []);
  }

  /**
   * Replaces the trusted issuers. Unchanged issuers keep their discovered JWKS; any change
   * drops the cached verification results.
   */
  setIssuers(list: readonly TrustedIssuerConfig[]): void {
    const key = JSON.stringify(
      [...list]
        .map((i) => [i.issuer, [...i.audiences].sort(), [...i.domains].sort(), i.allowUnverifiedEmails ?? false, i.jwksUri ?? null] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    );
    if (key === this.#issuersKey) return;
    this.#issuersKey = key;
    const next = new Map<string, IssuerState>();
    for (const config of list) {
      const old = this.#issuers.get(config.issuer);
      const same = old && (old.config.jwksUri ?? null) === (config.jwksUri ?? null);
      next.set(config.issuer, same ? { ...old, config } : { config, keys: null, pending: null, failedAt: 0, failure: "" });
    }
    this.#issuers = next;
    this.#results.clear();
  }

  /** Loads the trusted issuers from the database (TrustedIssuer rows). */
  async refreshIssuers(db: Db): Promise<void> {
    const rows = await db.trustedIssuer.findMany();
    this.setIssuers(
      rows.map((r) => ({ issuer: r.issuer, audiences: r.audiences, domains: r.domains, allowUnverifiedEmails: r.allowUnverifiedEmails, jwksUri: r.jwksUri })),
    );
  }

  /**
   * Verifies a bearer ID token. `audiences`: the audiences accepted for Gatehouse's own tokens
   * (none given: none accepted); trusted issuers use their configured audiences. `now`: epoch ms.
   */
  async verify(token: string, opts: { audiences?: readonly string[]; now?: number } = {}): Promise<VerifyResult> {
    const now = opts.now ?? Date.now();
    const cached = this.#results.get(token);
    if (cached) {
      if (now < cached.until && now >= cached.until - this.#opts.resultCacheMs - CLOCK_TOLERANCE_SEC * 1000) {
        if (!cached.aud || this.#ownAudienceOk(cached.aud, opts.audiences)) return { ok: true, identity: cached.identity };
      } else this.#results.delete(token);
    }
    const r = await this.#verify(token, opts.audiences, now);
    if (!r.ok) return r;
    if (this.#opts.resultCacheMs > 0) {
      const until = Math.min(r.identity.expiresAt * 1000 + CLOCK_TOLERANCE_SEC * 1000, now + this.#opts.resultCacheMs);
      this.#results.set(token, { identity: r.identity, until, aud: r.ownAud });
      if (this.#results.size > this.#opts.resultCacheSize) this.#results.delete(this.#results.keys().next().value!);
    }
    return { ok: true, identity: r.identity };
  }

  #ownAudienceOk(aud: readonly string[], accepted: readonly string[] | undefined): boolean {
    return accepted !== undefined && aud.some((a) => accepted.includes(a));
  }

  async #verify(
    token: string,
    extraAudiences: readonly string[] | undefined,
    now: number,
  ): Promise<{ ok: true; identity: VerifiedIdentity; ownAud: readonly string[] | null } | { ok: false; reason: TokenFailureReason; message: string }> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return fail("malformed", "not a JWT");
    let iss: unknown;
    try {
      decodeProtectedHeader(token);
      iss = decodeJwt(token).iss;
    } catch {
      return fail("malformed", "not a JWT");
    }
    if (typeof iss !== "string" || !iss) return fail("malformed", "the token has no iss");
    if (iss === this.#ring.assertionIssuer) return fail("not_a_credential", "an IAP assertion is for backends, not a credential");
    const currentDate = new Date(now);
    const own = iss === this.#ring.issuer;
    let payload: JWTPayload;
    try {
      if (own) {
        ({ payload } = await jwtVerify(token, this.#ring.keySet(now), {
          algorithms: [...OWN_ALGORITHMS],
          issuer: this.#ring.issuer,
          clockTolerance: CLOCK_TOLERANCE_SEC,
          requiredClaims: ["exp", "iat", "aud", "sub"],
          currentDate,
        }));
        const aud = typeof payload.aud === "string" ? [payload.aud] : (payload.aud ?? []);
        if (!this.#ownAudienceOk(aud, extraAudiences)) return fail("wrong_audience", "the token's audience is not accepted here");
      } else {
        const state = this.#issuers.get(iss);
        if (!state) return fail("unknown_issuer", `issuer ${JSON.stringify(iss)} is not trusted`);
        if (state.config.audiences.length === 0) return fail("wrong_audience", `issuer ${iss} has no configured audiences`);
        let keys: JWTVerifyGetKey;
        try {
          keys = await this.#keysOf(state, now);
        } catch (e) {
          return fail("issuer_unavailable", `cannot fetch the keys of ${iss}: ${e instanceof Error ? e.message : String(e)}`);
        }
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: [...EXTERNAL_ALGORITHMS],
          issuer: iss,
          audience: [...state.config.audiences],
          clockTolerance: CLOCK_TOLERANCE_SEC,
          requiredClaims: ["exp", "sub"],
          currentDate,
        }));
        if (!state.config.allowUnverifiedEmails && payload.email_verified !== true && payload.email_verified !== "true") {
          return fail("email_unverified", "the token's email is not verified (email_verified is not true)");
        }
      }
    } catch (e) {
      return mapJoseError(e);
    }
    if (typeof payload.iat === "number" && payload.iat * 1000 > now + CLOCK_TOLERANCE_SEC * 1000) {
      return fail("not_yet_valid", "the token was issued in the future");
    }
    if (typeof payload.email !== "string" || !payload.email) return fail("missing_email", "the token has no email claim");
    const email = checkEmail(payload.email);
    if (!email.ok) return fail("missing_email", email.error);
    if (typeof payload.sub !== "string" || !payload.sub) return fail("malformed", "the token has no sub");
    const principal = principalForEmail(email.value);
    if (!own) {
      const domain = email.value.slice(email.value.lastIndexOf("@") + 1);
      if (principal.startsWith("serviceAccount:")) return fail("domain_not_allowed", "service accounts are identified only by Gatehouse's own tokens");
      if (!this.#issuers.get(iss)!.config.domains.includes(domain)) return fail("domain_not_allowed", `issuer ${iss} may not assert ${domain} identities`);
    }
    return {
      ok: true,
      identity: { principal, email: email.value, subjectId: payload.sub, issuer: iss, expiresAt: payload.exp! },
      ownAud: own ? (typeof payload.aud === "string" ? [payload.aud] : payload.aud!) : null,
    };
  }

  async #keysOf(state: IssuerState, now: number): Promise<JWTVerifyGetKey> {
    if (state.keys) return state.keys;
    if (state.failedAt && now - state.failedAt < this.#opts.discoveryRetryMs) throw new Error(state.failure);
    state.pending ??= this.#discover(state.config).then(
      (keys) => {
        state.keys = keys;
        state.pending = null;
        return keys;
      },
      (e: unknown) => {
        state.failedAt = Date.now();
        state.failure = e instanceof Error ? e.message : String(e);
        state.pending = null;
        throw e;
      },
    );
    return state.pending;
  }

  async #discover(config: TrustedIssuerConfig): Promise<JWTVerifyGetKey> {
    let jwksUri = config.jwksUri ?? null;
    if (!isSecureIssuerUrl(config.issuer)) throw new Error(`issuer ${config.issuer} is not https`);
    if (!jwksUri) {
      const url = `${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      const res = await fetch(url, { signal: AbortSignal.timeout(this.#opts.fetchTimeoutMs), headers: { accept: "application/json" } });
      if (!res.ok) throw new Error(`discovery ${url} answered ${res.status}`);
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // OIDC Discovery §4.3: the document's issuer must be exactly the configured issuer.
      if (doc.issuer !== config.issuer) throw new Error(`discovery ${url} names issuer ${JSON.stringify(doc.issuer)}`);
      if (typeof doc.jwks_uri !== "string") throw new Error(`discovery ${url} has no jwks_uri`);
      jwksUri = doc.jwks_uri;
    }
    if (!isSecureIssuerUrl(jwksUri)) throw new Error(`the JWKS of ${config.issuer} (${jwksUri}) is not https`);
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.#opts.fetchTimeoutMs,
      cooldownDuration: this.#opts.jwksCooldownMs,
      cacheMaxAge: this.#opts.jwksMaxAgeMs,
    });
  }
}

function fail(reason: TokenFailureReason, message: string): { ok: false; reason: TokenFailureReason; message: string } {
  return { ok: false, reason, message };
}

function mapJoseError(e: unknown): { ok: false; reason: TokenFailureReason; message: string } {
  if (!(e instanceof errors.JOSEError)) return fail("issuer_unavailable", e instanceof Error ? e.message : String(e));
  switch (e.code) {
    case "ERR_JWT_EXPIRED":
      return fail("expired", "the token has expired");
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const claim = (e as errors.JWTClaimValidationFailed).claim;
      if (claim === "aud") return fail("wrong_audience", "the token's audience is not accepted here");
      if (claim === "nbf" || claim === "iat") return fail("not_yet_valid", `the token is not valid yet (${claim})`);
      if (claim === "iss") return fail("unknown_issuer", "issuer mismatch");
      return fail("malformed", e.message);
    }
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return fail("bad_signature", "signature verification failed");
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return fail("bad_signature", "signing algorithm not allowed");
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return fail("bad_signature", "no key of the issuer matches the token's kid");
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
    case "ERR_JOSE_GENERIC": // JWKS endpoint answered non-200 or non-JSON
      return fail("issuer_unavailable", "the issuer's JWKS could not be fetched");
    default:
      return fail("malformed", e.message);
  }
}
