// ID tokens that Gatehouse issues (token endpoint, CLI `token`): shaped like Google's ID tokens
// for service accounts — iss GATEHOUSE_PUBLIC_URL, aud, azp, sub (the principal's stable id),
// email, email_verified: true, iat, exp (1 h). Verified by TokenVerifier against the KeyRing.
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { checkEmail } from "@/lib/policy/members";
import { ID_TOKEN_LIFETIME_SEC, type KeyRing } from "./keys";
import { subjectIdForEmail } from "./assertion";
import { principalForEmail } from "./verify";

export function issueIdToken(
  ring: KeyRing,
  input: { email: string; subjectId: string; audience: string; now?: number | Date },
): Promise<string> {
  return ring.sign(
    { sub: input.subjectId, azp: input.subjectId, email: input.email, email_verified: true },
    { audience: input.audience, lifetimeSec: ID_TOKEN_LIFETIME_SEC, now: input.now },
  );
}

/**
 * An ID token for a member string (`user:EMAIL` or `serviceAccount:EMAIL`), for the CLI and
 * scripts. The kind must agree with the email (service accounts live under gserviceaccount.com,
 * see principalForEmail), so the token verifies as the same principal. A stored principal must
 * not be disabled and gives its id as `sub`; an unknown one gets subjectIdForEmail(email).
 * `audience` defaults to the issuer (GATEHOUSE_PUBLIC_URL).
 */
export async function issueIdTokenForPrincipal(
  db: Db,
  ring: KeyRing,
  input: { principal: string; audience?: string; now?: number | Date },
): Promise<{ token: string; principal: string; subjectId: string; audience: string }> {
  const m = input.principal.match(/^(user|serviceAccount):(.+)$/);
  if (!m) throw new AppError("INVALID_ARGUMENT", `--principal must be user:EMAIL or serviceAccount:EMAIL, not "${input.principal}"`);
  const email = checkEmail(m[2]!);
  if (!email.ok) throw new AppError("INVALID_ARGUMENT", email.error);
  const principal = `${m[1]}:${email.value}`;
  if (principalForEmail(email.value) !== principal) {
    throw new AppError(
      "INVALID_ARGUMENT",
      m[1] === "user"
        ? `${email.value} is a service-account address: use serviceAccount:${email.value}`
        : `${email.value} is not a service-account address (…@PROJECT.iam.gserviceaccount.com): use user:${email.value}`,
    );
  }
  const row = await db.principal.findUnique({ where: { email: email.value }, select: { id: true, disabled: true, kind: true } });
  if (row?.disabled) throw new AppError("FAILED_PRECONDITION", `${principal} is disabled`);
  const subjectId = row?.id ?? subjectIdForEmail(email.value);
  const audience = input.audience ?? ring.issuer;
  const token = await issueIdToken(ring, { email: email.value, subjectId, audience, now: input.now });
  return { token, principal, subjectId, audience };
}
