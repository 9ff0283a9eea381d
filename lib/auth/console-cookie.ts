// The console's session cookie, read outside Next.js: by the application-session start and by the
// admin API, both answered by the custom server on Gatehouse's own origin. Never by forward-auth:
// the console's session is not an identity at an application.
//
// Decoding only proves Auth.js issued the cookie; whether the session still stands (account not
// disabled or deleted, no password reset since, one-time password replaced) is the database's
// answer: lib/auth/users.ts sessionStanding, which every caller also asks.
import { parse as parseCookies } from "cookie";
import { decode } from "next-auth/jwt";

/** Auth.js session cookies (plain and __Secure- variants); the cookie name is the JWE salt. */
export const CONSOLE_SESSION_COOKIES = ["__Secure-authjs.session-token", "authjs.session-token"] as const;

export interface ConsoleSessionCookie {
  email: string;
  /** Epoch ms. */
  expiresAt: number;
  /** When and how it signed in (lib/auth/config.ts jwt callback). */
  authAt: number | undefined;
  via: string | undefined;
}

/** The console session in a Cookie header, decoded and unexpired; null when there is none. */
export async function readConsoleSession(cookieHeader: string | undefined, authSecret: string): Promise<ConsoleSessionCookie | null> {
  if (!cookieHeader) return null;
  // cookie.parse never throws: a malformed %-escape is kept as it is (and then fails to decode).
  const jar = parseCookies(cookieHeader);
  for (const name of CONSOLE_SESSION_COOKIES) {
    const value = jar[name];
    if (!value) continue;
    try {
      const jwt = await decode({ token: value, secret: authSecret, salt: name });
      const email = typeof jwt?.email === "string" ? jwt.email.toLowerCase() : null;
      const exp = typeof jwt?.exp === "number" ? jwt.exp * 1000 : 0;
      if (email && exp > Date.now()) {
        return { email, expiresAt: exp, authAt: typeof jwt?.authAt === "number" ? jwt.authAt : undefined, via: typeof jwt?.via === "string" ? jwt.via : undefined };
      }
    } catch {
      // not a session of ours
    }
  }
  return null;
}
