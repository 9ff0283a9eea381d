// Who may establish a console session, whatever the provider (lib/auth/config.ts signIn callback).
//
// Console SSO requires `email_verified: true` in the ID token: the email IS the identity here
// (the session acts as the IAM principal user:{email}), so an issuer that lets people claim an
// address they do not own must not hand out that principal. GATEHOUSE_OIDC_ALLOW_UNVERIFIED_EMAIL
// is for issuers whose emails are all assigned by their administrators and that never send the
// claim; it is off by default.
import type { PrismaClient } from "@/lib/generated/prisma/client";

/** True when the ID token's claims vouch for the email (the boolean `true`, or the string "true" some issuers send). */
export function emailVerified(profile: unknown): boolean {
  const v = profile && typeof profile === "object" ? (profile as { email_verified?: unknown }).email_verified : undefined;
  return v === true || v === "true";
}

export type SignInRefusal = "no-email" | "email-unverified" | "disabled";

/** Why a sign-in must be refused, or null when it may go on. */
export async function signInRefusal(
  db: PrismaClient,
  input: { provider: string | undefined; email: string | null | undefined; profile: unknown; allowUnverifiedEmail: boolean },
): Promise<SignInRefusal | null> {
  const email = input.email?.trim().toLowerCase();
  // Only identities with an email map to an IAM principal.
  if (!email) return "no-email";
  if (input.provider !== "credentials" && !input.allowUnverifiedEmail && !emailVerified(input.profile)) return "email-unverified";
  const principal = await db.principal.findUnique({ where: { email }, select: { disabled: true } });
  if (principal?.disabled) return "disabled";
  return null;
}
