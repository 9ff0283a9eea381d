// Console sign-in (Auth.js v5). Who may do what in the console is decided by IAM on the
// principal user:{email} — this module only establishes who the user is.
// Credentials need JWT sessions (Auth.js); OIDC accounts are recorded through the Prisma adapter.
import NextAuth, { type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import { PrismaAdapter } from "@auth/prisma-adapter";
import { z } from "zod";
import { db } from "@/lib/db/client";
import { env } from "@/lib/env";
import { verifyPassword } from "./password";
import { safeReturnUrl } from "./return-url";

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
      async authorize(raw) {
        const parsed = ZSignIn.safeParse(raw);
        if (!parsed.success) return null;
        const user = await db().user.findUnique({
          where: { email: parsed.data.email },
          select: { id: true, email: true, name: true, passwordHash: true },
        });
        if (!user?.passwordHash || !(await verifyPassword(parsed.data.password, user.passwordHash))) return null;
        return { id: user.id, email: user.email, name: user.name };
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
      // Emails are identities here: link an SSO login to the local account with the same email.
      allowDangerousEmailAccountLinking: true,
    });
  }
  return list;
}

export const { handlers, auth, signIn, signOut } = NextAuth(() => ({
  adapter: PrismaAdapter(db() as never),
  providers: providers(),
  session: { strategy: "jwt", maxAge: 12 * 60 * 60 },
  pages: { signIn: "/signin" },
  trustHost: true,
  secret: env().AUTH_SECRET,
  callbacks: {
    // After sign-in: Gatehouse itself only. The session cookie is host-only on Gatehouse's host
    // (Auth.js's default): applications get their own sessions (lib/decide/app-session.ts).
    redirect: ({ url, baseUrl }) => {
      const target = safeReturnUrl(url, { publicUrl: baseUrl }, "");
      return target === "" ? baseUrl : target.startsWith("/") ? `${baseUrl}${target}` : target;
    },
    // Only identities with an email can map to an IAM principal.
    signIn: ({ user }) => Boolean(user.email),
    jwt: ({ token, user }) => {
      if (user?.email) token.email = user.email.toLowerCase();
      return token;
    },
    session: ({ session, token }) => {
      if (token.email) session.user.email = token.email;
      return session;
    },
  },
}));
