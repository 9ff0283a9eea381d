// What a start on an empty database does (lib/server/main.ts), as a real process:
//  - production (NODE_ENV=production, GATEHOUSE_SEED_DEMO unset): seeds nothing, prints how to
//    create the first admin;
//  - development (`npm run dev`): seeds the demo world, prints the demo sign-in in the terminal,
//    and the sign-in page names the demo email but never holds the password. The same server
//    shows that sign-in throttling counts the socket's address, not a client-sent header.
// (Production with GATEHOUSE_SEED_DEMO=true is the browser-test stack: e2e/console.spec.ts.)
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { freePort, spawnProc, stopAll, waitFor, type Proc } from "@/lib/proxytest/procs";
import { accountKey, addressKey } from "@/lib/auth/throttle";
import { CLIENT_ADDRESS_HEADER } from "@/lib/auth/client-address";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SERVER = path.join(ROOT, "lib/server/main.ts");
const SECRET = "startup-integration-test-auth-secret-0123456789";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await stopAll();
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function start(args: string[], extraEnv: Record<string, string>, timeoutMs = 60_000): Promise<{ proc: Proc; port: number; dataDir: string; db: TestDatabase }> {
  const db = await createTestDatabase();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-startup-"));
  cleanups.push(() => db.drop(), () => fsp.rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  // Not process.env: vitest sets NODE_ENV=test there, and the point is what the defaults do.
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    DATABASE_URL: db.url,
    AUTH_SECRET: SECRET,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    NEXT_TELEMETRY_DISABLED: "1",
    ...extraEnv,
  };
  const proc = spawnProc("gatehouse", process.execPath, ["--import", "tsx", SERVER, ...args], { cwd: ROOT, env: env as NodeJS.ProcessEnv });
  await waitFor("the start-up banner", () => / ready in /.test(proc.output()), { proc, timeoutMs, intervalMs: 100 });
  return { proc, port, dataDir, db };
}

describe("a production start on an empty database", () => {
  it("seeds nothing and prints how to create the first admin", async () => {
    const { proc, dataDir, db } = await start(["--api-only"], { NODE_ENV: "production" });
    const out = proc.output();
    expect(out).toContain("No administrator yet");
    expect(out).toContain("npm run gatehouse -- user create --email you@example.com --owner");
    expect(out).toMatch(/GATEHOUSE_OIDC_ISSUER[\s\S]*GATEHOUSE_BOOTSTRAP_ADMINS=you@example.com/);
    expect(out).not.toContain("Seeded the demo world");
    expect(out).not.toContain("Sign in:");
    expect(await db.prisma.node.count()).toBe(0);
    expect(await db.prisma.user.count()).toBe(0);
    expect(await db.prisma.principal.count()).toBe(0);
    expect(fs.existsSync(path.join(dataDir, "demo-credentials.json"))).toBe(false);
    await proc.stop();
  });

  it("does not print it once a bootstrap admin is configured", async () => {
    const { proc } = await start(["--api-only"], { NODE_ENV: "production", GATEHOUSE_BOOTSTRAP_ADMINS: "ops@example.com" });
    expect(proc.output()).not.toContain("No administrator yet");
    await proc.stop();
  });
});

/** A request from a chosen loopback address (its own throttle bucket), with client-sent headers. */
function request(port: number, opts: { method?: string; path: string; localAddress: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path, localAddress: opts.localAddress, headers: opts.headers }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.setTimeout(180_000, () => req.destroy(new Error("timed out")));
    req.end(opts.body);
  });
}

describe("a development start (npm run dev) on an empty database", () => {
  it("prints the demo sign-in in the terminal only; the sign-in page names the email, never the password", { timeout: 300_000 }, async () => {
    const { proc, port, dataDir, db } = await start(["--dev"], {}, 120_000);
    const file = path.join(dataDir, "demo-credentials.json");
    const demo = JSON.parse(fs.readFileSync(file, "utf8")) as { email: string; password: string };
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(proc.output()).toContain(`Sign in:  ${demo.email} / ${demo.password}`);
    expect(proc.output()).toContain("Seeded the demo world");

    const page = await request(port, { path: "/signin", localAddress: "127.0.0.1" });
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(demo.password);
    expect(page.body).toContain("admin@example.com");
    expect(page.body).toContain("password in the terminal");

    // A password attempt straight to Auth.js (no server action), claiming another address.
    const from = "127.0.0.77";
    const csrf = await request(port, { path: "/api/auth/csrf", localAddress: from });
    const cookie = (csrf.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
    const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
    const spoofed = "10.20.30.40";
    const res = await request(port, {
      method: "POST",
      path: "/api/auth/callback/credentials",
      localAddress: from,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie,
        [CLIENT_ADDRESS_HEADER]: spoofed,
        "x-forwarded-for": spoofed,
        "x-real-ip": spoofed,
      },
      body: new URLSearchParams({ csrfToken, email: demo.email, password: "not-the-password", callbackUrl: "/" }).toString(),
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(/\/signin\?error=CredentialsSignin/);
    const keys = (await db.prisma.signInThrottle.findMany({ select: { key: true } })).map((r) => r.key).sort();
    expect(keys).toEqual([accountKey(demo.email), addressKey(from)].sort());
    expect(keys).not.toContain(addressKey(spoofed));
    await proc.stop();
  });
});
