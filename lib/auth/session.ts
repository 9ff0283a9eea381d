// Every console page and server action calls requireSession(): a layout does not re-run on
// navigation and middleware can be bypassed, so the check lives next to the data.
//
// A session is a signed cookie, so on its own it would outlive what happened since it was
// issued. The console is not a hot path: every request also asks the database whether the
// session still stands (lib/auth/users.ts sessionStanding) — a disabled principal, a deleted
// account or a password reset ends it on its next request — and whether a one-time password
// must be replaced first.
import { cache } from "react";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { db } from "@/lib/db/client";
import { auth } from "./config";
import { NEW_PASSWORD_PATH, REQUEST_PATH_HEADER } from "./request-path";
import { sessionStanding } from "./users";

export interface ConsoleSession {
  email: string;
  name: string | null;
  /** The IAM principal the console user acts as. */
  principal: string;
  /** Signed in with a one-time password that has not been replaced yet. */
  mustChangePassword: boolean;
}

export { NEW_PASSWORD_PATH };

/** The session of this request, checked against the database (once per request). */
export const getSession = cache(async (): Promise<ConsoleSession | null> => {
  const session = await auth();
  const email = session?.user?.email;
  if (!email) return null;
  const standing = await sessionStanding(db(), email, session.authAt);
  if (!standing.ok) return null;
  return {
    email,
    name: standing.name ?? session.user?.name ?? null,
    principal: `user:${email}`,
    // Only a password sign-in used the one-time password; an SSO sign-in did not.
    mustChangePassword: standing.passwordMustChange && session.via === "credentials",
  };
});

async function requestedPath(): Promise<string | null> {
  // The custom server records the requested path, so sign-in can return to it.
  const path = (await headers()).get(REQUEST_PATH_HEADER);
  return path && path.startsWith("/") && !path.startsWith("//") ? path : null;
}

/**
 * The signed-in user, or a redirect to sign-in. A user holding a one-time password is sent to
 * choose a new one first, unless `allowPasswordChange` (the page that does that).
 */
export async function requireSession(opts: { allowPasswordChange?: boolean } = {}): Promise<ConsoleSession> {
  const session = await getSession();
  if (!session) {
    const path = await requestedPath();
    redirect(path ? `/signin?callbackUrl=${encodeURIComponent(path)}` : "/signin");
  }
  if (session.mustChangePassword && !opts.allowPasswordChange) {
    const path = await requestedPath();
    redirect(path && !path.startsWith(NEW_PASSWORD_PATH) ? `${NEW_PASSWORD_PATH}?callbackUrl=${encodeURIComponent(path)}` : NEW_PASSWORD_PATH);
  }
  return session;
}
