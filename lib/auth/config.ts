// Console sign-in (Auth.js v5). Who may do what in the console is decided by IAM on the
// principal user:{email} — this module only establishes who the user is.
// Credentials need JWT sessions (Auth.js); OIDC accounts are recorded through the Prisma adapter.
import NextAuth, { CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { PrismaAdapter } from "@auth/prisma-adapter";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { safeReturnUrl } from "./return-url";
import { checkCredentials } from "./credentials";
import { CLIENT_ADDRESS_HEADER } from "./client-address";
import { signInRefusal } from "./sign-in-policy";
import { retryAfterText } from "./throttle";

/** A throttled password attempt (lib/auth/throttle.ts); the sign-in action shows `message`. */
export class ThrottledSignIn extends CredentialsSignin {
  code = "throttled";
  constructor(readonly retryAfterMs: number) {
    super(`Too many attempts. Try again in ${retryAfterText(retryAfterMs)}.`);
  }
}

export const ZSignIn = z.object({
  email: z.email("Enter an email address").transform((e) => e.trim().toLowerCase()),
  password: z.string().min(1, "Enter your password").max(1024),
});

function providers(): NextAuthConfig["providers"] {
  const e = env();
  const list: NextAuthConfig["providers"] = [
    Credentials({
      id: "credentials",
      name: "Email and password",
      credentials: { email: { label: "Email" }, password: { label: "Password", type: "password" } },
      // Throttled, same time for unknown accounts, never says which part was wrong (lib/auth/credentials.ts).
      async authorize(raw, request) {
        const parsed = ZSignIn.safeParse(raw);
        if (!parsed.success) return null;
        // Set by lib/server from the socket, on this request and on the server action's (next-auth copies its headers).
        const address = request.headers.get(CLIENT_ADDRESS_HEADER);
        const r = await checkCredentials(db(), { ...parsed.data, address });
        if (!r.ok) {
          if (r.reason === "throttled") throw new ThrottledSignIn(r.retryAfterMs);
          return null;
        }
        return { id: r.user.id, email: r.user.email, name: r.user.name };
      },
    }),
  ];
  if (e.GATEHOUSE_OIDC_ISSUER && e.GATEHOUSE_OIDC_CLIENT_ID && e.GATEHOUSE_OIDC_CLIENT_SECRET) {
    list.push({
      id: "oidc",
      name: e.GATEHOUSE_OIDC_NAME,
      type: "oidc",
      issuer: e.GATEHOUSE_OIDC_ISSUER,
      clientId: e.GATEHOUSE_OIDC_CLIENT_ID,
      clientSecret: e.GATEHOUSE_OIDC_CLIENT_SECRET,
      // Emails are identities here (the session acts as user:{email}), so an SSO login is linked
      // to the console account with the same email, e.g. one made by `user create`. Linking by
      // email is safe only for an email the issuer vouches for: the signIn callback, which Auth.js
      // runs before it links or creates anything, refuses a profile without email_verified: true
      // (lib/auth/sign-in-policy.ts). Refusing to link would not narrow anything: without it the
      // same verified email would still be the same principal, only the sign-in would fail.
      allowDangerousEmailAccountLinking: true,
      // Auth.js's default profile, with the email lower-cased as IAM compares it (and as it is
      // stored for console accounts), so linking and the session's account check find the row.
      profile: (p: Record<string, unknown>) => ({
        id: String(p.sub ?? p.id),
        name: (p.name ?? p.nickname ?? p.preferred_username ?? null) as string | null,
        email: typeof p.email === "string" ? p.email.trim().toLowerCase() : null,
        image: (p.picture ?? null) as string | null,
      }),
    });
  }
  return list;
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => ({
  adapter: PrismaAdapter(db() as never),
  providers: providers(),
  session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
  // Refusals (an unverified email, a disabled user) are explained on the sign-in page.
  pages: { signIn: "/signin", error: "/signin" },
  trustHost: true,
  secret: env().AUTH_SECRET,
  callbacks: {
    // After sign-in: Gatehouse itself only. The session cookie is host-only on Gatehouse's host
    // (Auth.js's default): applications get their own sessions (lib/decide/app-session.ts).
    redirect: ({ url, baseUrl }) => {
      const target = safeReturnUrl(url, { publicUrl: baseUrl }, "");
      return target === "" ? baseUrl : target.startsWith("/") ? `${baseUrl}${target}` : target;
    },
    // An email (the principal), verified by the SSO issuer, of a principal that is not disabled.
    signIn: async ({ user, account, profile }) =>
      (await signInRefusal(db(), { provider: account?.provider, email: user.email, profile, allowUnverifiedEmail: env().GATEHOUSE_OIDC_ALLOW_UNVERIFIED_EMAIL })) === null,
    jwt: ({ token, user, account }) => {
      if (user?.email) token.email = user.email.toLowerCase();
      // When and how this session signed in (lib/auth/session.ts: password resets, one-time passwords).
      if (account) {
        token.authAt = Date.now();
        token.via = account.provider;
      }
      return token;
    },
    session: ({ session, token }) => {
      if (token.email) session.user.email = token.email;
      session.authAt = typeof token.authAt === "number" ? token.authAt : 0;
      session.via = typeof token.via === "string" ? token.via : "";
      return session;
    },
  },
}));

declare module "next-auth" {
  interface Session {
    /** When this session signed in (ms since the epoch). */
    authAt: number;
    /** The provider it signed in with ("credentials", "oidc"). */
    via: string;
  }
}
