// POST /api/v1/token — GCP's flow for service-account ID tokens (RFC 7523 JWT-bearer grant):
//
//   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>
//
// The assertion is signed (RS256) with a service-account key: header kid = the key id; claims
// iss = the service account's email, sub (optional) = the same, aud = this endpoint's URL,
// iat, exp (exp − iat ≤ 1 h), target_audience = the audience wanted for the ID token. The answer
// is `{ "id_token": … }`: signed by the KeyRing, iss GATEHOUSE_PUBLIC_URL, aud target_audience,
// sub the service account's Principal.id, email, email_verified true, 1 h.
//
// Errors are OAuth 2.0 JSON (RFC 6749 §5.2): `{ error, error_description }`, always 400, as
// Google's token endpoint answers (invalid_request, unsupported_grant_type, invalid_grant,
// invalid_scope). 401/invalid_client does not apply: the grant carries no client credentials.
// Refusals do not say which check failed beyond what Google says (no oracle for key ids).
import { decodeProtectedHeader, importJWK, jwtVerify, errors, type JWK, type JWTPayload } from "jose";
import type { Db } from "@/lib/db/client";
import type { KeyRing } from "./keys";
import { CLOCK_TOLERANCE_SEC } from "./verify";
import { JWT_BEARER_GRANT_TYPE, tokenEndpointUrl } from "./openid";
import { issueIdToken } from "./id-token";
import { SERVICE_ACCOUNT_KEY_ALG } from "./service-accounts";

/** Largest request body accepted (an RS256 assertion is ~1 KB). */
export const MAX_TOKEN_REQUEST_BYTES = 64 * 1024;
/** Longest assertion lifetime accepted (Google: 1 h). */
export const MAX_ASSERTION_LIFETIME_SEC = 3600;

export interface TokenEndpointContext {
  db: Db;
  /** Signs the ID token; its issuer (GATEHOUSE_PUBLIC_URL) also gives this endpoint's URL (the assertion's aud). */
  ring: KeyRing;
  /** Epoch ms; defaults to the current time. */
  now?: number;
}

export type OAuthError = "invalid_request" | "unsupported_grant_type" | "invalid_grant" | "invalid_scope";

export interface TokenEndpointResponse {
  status: number;
  /** Send these as they are (JSON, no-store). */
  headers: Record<string, string>;
  body: { id_token: string } | { error: OAuthError; error_description: string };
}

const HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", pragma: "no-cache" } as const;

function oauthError(error: OAuthError, description: string): TokenEndpointResponse {
  return { status: 400, headers: { ...HEADERS }, body: { error, error_description: description } };
}

const BAD_SIGNATURE = "Invalid JWT Signature.";
const BAD_TIMES = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/**
 * Handles one token request. `body` is the raw request body, `contentType` the request's
 * Content-Type header. Never throws for a bad request; database errors propagate (→ 500/503).
 */
export async function handleTokenRequest(ctx: TokenEndpointContext, body: string, contentType: string | undefined): Promise<TokenEndpointResponse> {
  const now = ctx.now ?? Date.now();
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "application/x-www-form-urlencoded") {
    return oauthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  }
  if (body.length > MAX_TOKEN_REQUEST_BYTES) return oauthError("invalid_request", "request body too large");
  const form = new URLSearchParams(body);
  const grantType = form.get("grant_type");
  if (!grantType) return oauthError("invalid_request", "Missing required parameter: grant_type");
  if (grantType !== JWT_BEARER_GRANT_TYPE) return oauthError("unsupported_grant_type", `Invalid grant_type: ${grantType}`);
  const assertion = form.get("assertion");
  if (!assertion) return oauthError("invalid_request", "Missing required parameter: assertion");

  let kid: unknown;
  let alg: unknown;
  try {
    ({ kid, alg } = decodeProtectedHeader(assertion));
  } catch {
    return oauthError("invalid_grant", "Invalid JWT: not a JWS compact serialization");
  }
  if (alg !== SERVICE_ACCOUNT_KEY_ALG) return oauthError("invalid_grant", BAD_SIGNATURE);
  if (typeof kid !== "string" || !/^[0-9a-f]{40}$/.test(kid)) return oauthError("invalid_grant", BAD_SIGNATURE);

  const key = await ctx.db.serviceAccountKey.findUnique({
    where: { id: kid },
    select: {
      publicJwk: true,
      disabled: true,
      validAfter: true,
      validBefore: true,
      principal: { select: { id: true, email: true, kind: true, disabled: true } },
    },
  });
  // Unknown, disabled and expired keys are indistinguishable from a bad signature (as Google).
  if (!key || key.disabled || key.validAfter.getTime() > now || (key.validBefore && key.validBefore.getTime() <= now)) {
    return oauthError("invalid_grant", BAD_SIGNATURE);
  }
  const sa = key.principal;
  if (sa.kind !== "SERVICE_ACCOUNT") return oauthError("invalid_grant", BAD_SIGNATURE);
  if (sa.disabled) return oauthError("invalid_grant", "Service account is disabled.");

  let claims: JWTPayload;
  try {
    const publicKey = await importJWK(key.publicJwk as JWK, SERVICE_ACCOUNT_KEY_ALG);
    ({ payload: claims } = await jwtVerify(assertion, publicKey, {
      algorithms: [SERVICE_ACCOUNT_KEY_ALG],
      issuer: sa.email,
      audience: tokenEndpointUrl(ctx.ring.issuer),
      requiredClaims: ["iat", "exp"],
      clockTolerance: CLOCK_TOLERANCE_SEC,
      currentDate: new Date(now),
    }));
  } catch (e) {
    if (e instanceof errors.JWTExpired) return oauthError("invalid_grant", BAD_TIMES);
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === "aud") return oauthError("invalid_grant", `Invalid JWT: aud must be ${tokenEndpointUrl(ctx.ring.issuer)}`);
      if (e.claim === "iss") return oauthError("invalid_grant", "Invalid JWT: iss must be the service account's email");
      if (e.claim === "iat" || e.claim === "exp" || e.claim === "nbf") return oauthError("invalid_grant", BAD_TIMES);
      return oauthError("invalid_grant", `Invalid JWT: ${e.message}`);
    }
    return oauthError("invalid_grant", BAD_SIGNATURE);
  }
  const iat = claims.iat!;
  const exp = claims.exp!;
  if (exp - iat > MAX_ASSERTION_LIFETIME_SEC || iat * 1000 > now + CLOCK_TOLERANCE_SEC * 1000) {
    return oauthError("invalid_grant", BAD_TIMES);
  }
  if (claims.sub !== undefined && claims.sub !== sa.email) {
    return oauthError("invalid_grant", "Invalid JWT: sub must be the service account's email (no domain-wide delegation)");
  }
  const targetAudience = claims.target_audience;
  if (typeof targetAudience !== "string" || !targetAudience || targetAudience.length > 1024) {
    // Gatehouse issues ID tokens only (no OAuth access tokens for `scope`).
    return oauthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
  }
  const idToken = await issueIdToken(ctx.ring, { email: sa.email, subjectId: sa.id, audience: targetAudience, now });
  return { status: 200, headers: { ...HEADERS }, body: { id_token: idToken } };
}

