// Per-application browser sessions (DESIGN.md §2: "a browser session from Gatehouse's own
// sign-in, per application, set through a one-time redirect exchange; the console's own session
// never reaches an application"), as IAP and Pomerium do it:
//
//   1. forward-auth answers a browser without identity 401 with X-Gatehouse-Signin-Url =
//      {GATEHOUSE_PUBLIC_URL}/api/v1/app-session/start?rd={original URL}.
//   2. start (on Gatehouse's own origin) needs the console session — if there is none, it sends
//      the browser to /signin and back. It accepts only an `rd` whose host is mapped to a
//      resource, stores the hash of a random one-time code (AppSessionCode: 60 s, that host only)
//      and redirects to {app origin}/_gatehouse/callback?code=…&rd={path}.
//   3. The application's proxy routes /_gatehouse/callback to Gatehouse's callback with its own
//      proxy credential. The code is redeemed once (an atomic UPDATE … WHERE usedAt IS NULL), on
//      the host it was issued for; the answer sets a host-only, HttpOnly cookie holding an
//      encrypted, host-bound session (A256GCM under a key derived from AUTH_SECRET) and
//      redirects to the path.
//   4. forward-auth recognises that cookie on that host only; the shipped proxy configs remove
//      it (and any bearer credential Gatehouse consumed) from what reaches the application.
//
// So an application's operator never sees a credential that works on the console or on another
// application: the console cookie is host-only on Gatehouse's host, and an application cookie
// replayed on another host is refused (its sealed host differs).
import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { EncryptJWT, jwtDecrypt } from "jose";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { normaliseHost } from "@/lib/policy";

/** Paths on Gatehouse itself (answered by the hot-path server). */
export const APP_SESSION_START_PATH = "/api/v1/app-session/start";
export const APP_SESSION_CALLBACK_PATH = "/api/v1/app-session/callback";
/** Path on the application's host that its proxy routes to APP_SESSION_CALLBACK_PATH. */
export const APP_CALLBACK_PATH = "/_gatehouse/callback";
/** Cookie names: `__Host-` (no Domain, Secure, Path=/ — siblings cannot plant one) over https. */
export const APP_SESSION_COOKIE = "gatehouse-app";
export const APP_SESSION_COOKIE_SECURE = "__Host-gatehouse-app";

/** How long a one-time code may wait to be redeemed. */
export const CODE_TTL_MS = 60_000;
/** Longest application session (it also ends with the console session it came from). */
export const MAX_APP_SESSION_MS = 12 * 60 * 60 * 1000;
const RESULT_CACHE_SIZE = 10_000;

export interface AppSession {
  email: string;
  /** Epoch ms. */
  expiresAt: number;
}

function hashCode(code: string): string {
  return createHash("sha256").update(code).digest("hex");
}

/** A path on the application to return to: absolute-path form only (no scheme, no authority). */
export function safeAppPath(value: string | null): string {
  if (!value || value.length > 4096 || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  return /[\u0000-\u001f\u007f]/.test(value) ? "/" : value;
}

export class AppSessions {
  readonly #key: Uint8Array;
  readonly #cache = new Map<string, { host: string; session: AppSession }>();

  constructor(
    private readonly prisma: PrismaClient,
    secret: string,
  ) {
    this.#key = new Uint8Array(hkdfSync("sha256", secret, "gatehouse", "gatehouse/app-session/v1", 32));
  }

  /** Step 2: a one-time code for `email` on `host`, valid CODE_TTL_MS. */
  async issueCode(input: { email: string; host: string; sessionExpiresAt: number; now?: number }): Promise<string> {
    const now = input.now ?? Date.now();
    const code = randomBytes(32).toString("base64url");
    await this.prisma.$transaction([
      // Codes are worthless once expired; keep the table small.
      this.prisma.appSessionCode.deleteMany({ where: { expiresAt: { lt: new Date(now - CODE_TTL_MS) } } }),
      this.prisma.appSessionCode.create({
        data: {
          codeHash: hashCode(code),
          email: input.email,
          host: normaliseHost(input.host),
          sessionExpiresAt: new Date(Math.min(input.sessionExpiresAt, now + MAX_APP_SESSION_MS)),
          expiresAt: new Date(now + CODE_TTL_MS),
        },
      }),
    ]);
    return code;
  }

  /** Step 3: redeems a code on `host`, once. Null for an unknown, used, expired or foreign code. */
  async redeemCode(code: string, host: string, now = Date.now()): Promise<AppSession | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return null;
    const rows = await this.prisma.$queryRaw<{ email: string; host: string; sessionExpiresAt: Date }[]>`
      UPDATE "AppSessionCode" SET "usedAt" = ${new Date(now)}
      WHERE "codeHash" = ${hashCode(code)} AND "usedAt" IS NULL AND "expiresAt" > ${new Date(now)}
      RETURNING "email", "host", "sessionExpiresAt"`;
    const row = rows[0];
    // A code redeemed on another host is spent all the same: it has leaked.
    if (!row || row.host !== normaliseHost(host)) return null;
    return { email: row.email, expiresAt: row.sessionExpiresAt.getTime() };
  }

  /** The cookie value: the session sealed to `host`. */
  async seal(host: string, session: AppSession, now = Date.now()): Promise<string> {
    return new EncryptJWT({ email: session.email, host: normaliseHost(host) })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(session.expiresAt / 1000))
      .encrypt(this.#key);
  }

  /** Hot path: the session in a cookie value, if it is valid on `host` at `now`; null otherwise. */
  async open(value: string, host: string, now = Date.now()): Promise<AppSession | null> {
    const h = normaliseHost(host);
    const hit = this.#cache.get(value);
    if (hit) {
      if (hit.host === h && now < hit.session.expiresAt) return hit.session;
      if (now >= hit.session.expiresAt) this.#cache.delete(value);
      return null;
    }
    if (value.length > 4096) return null;
    let payload;
    try {
      ({ payload } = await jwtDecrypt(value, this.#key, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"], currentDate: new Date(now) }));
    } catch {
      return null;
    }
    if (typeof payload.email !== "string" || typeof payload.host !== "string" || typeof payload.exp !== "number") return null;
    const session = { email: payload.email, expiresAt: payload.exp * 1000 };
    if (this.#cache.size >= RESULT_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(value, { host: payload.host, session });
    return payload.host === h && now < session.expiresAt ? session : null;
  }
}

/** `Set-Cookie` for an application session. */
export function appSessionCookie(value: string, session: AppSession, secure: boolean, now = Date.now()): string {
  const maxAge = Math.max(0, Math.floor((session.expiresAt - now) / 1000));
  const name = secure ? APP_SESSION_COOKIE_SECURE : APP_SESSION_COOKIE;
  return `${name}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}
