// The Gatehouse process: one node:http server. Paths that proxies call on every request are
// answered here directly (a Next.js route handler is ~30x slower, see README); everything else
// is handed to Next.js, which renders the console and the admin API.
//
// Start-up: validate configuration → resolve the database (embedded PostgreSQL when
// DATABASE_URL is unset) → apply migrations → seed the demo world on first run (development, or
// GATEHOUSE_SEED_DEMO=true) → load signing keys and the policy snapshot → start Next → listen,
// printing the demo sign-in, or how to create the first admin while there is none.
// SIGINT/SIGTERM drain the audit log, close the server and stop the embedded database.
//
// Flags: --dev (Next in development mode); --api-only (serve only the hot paths, without
// loading Next.js: for proxy tests and benchmarks); --bench-no-audit (decisions unrecorded: the
// baseline of bench:audit, never for use).
import http from "node:http";
import path from "node:path";
import { parseEnv, ConfigError, type Env } from "@/lib/env";
import { resolveDatabase, DatabaseUnavailableError, type ResolvedDatabase } from "@/lib/db/connect";
import { MigrationError } from "@/lib/db/migrate";
import { db } from "@/lib/db/client";
import { isEmpty, seedDemo } from "@/lib/admin/seed";
import { readDemoCredentials } from "@/lib/auth/providers";
import { needsFirstAdmin } from "@/lib/auth/users";
import { handleHotPath } from "@/lib/decide/http";
import { startDecisionStack } from "@/lib/decide/stack";
import { registerEngine } from "@/lib/decide/registry";
import { setAuditKeyMaterial } from "@/lib/audit/chain";
import { CHECKPOINT_FILE } from "@/lib/audit/checkpoints";
import { resolveAuthSecret } from "./secret";
import { stampForNext } from "./next-request";

const dev = process.argv.includes("--dev");
const apiOnly = process.argv.includes("--api-only");
// The baseline of `npm run bench:audit` only: decisions are answered WITHOUT an audit record.
const benchNoAudit = process.argv.includes("--bench-no-audit");

function fail(message: string): never {
  console.error(`\n  ✖ ${message}\n`);
  process.exit(1);
}

/** Printed at start-up while nobody can administer the instance (no console account, no bootstrap admin). */
const FIRST_ADMIN_HELP = [
  "",
  "  No administrator yet. Create the first one (prints a one-time password, to be changed at first sign-in):",
  "      npm run gatehouse -- user create --email you@example.com --owner",
  "  or sign in with your identity provider: set GATEHOUSE_OIDC_ISSUER, GATEHOUSE_OIDC_CLIENT_ID,",
  "  GATEHOUSE_OIDC_CLIENT_SECRET and GATEHOUSE_BOOTSTRAP_ADMINS=you@example.com, and restart.",
];

async function start(): Promise<void> {
  const started = performance.now();
  let env: Env;
  try {
    env = parseEnv();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  let auth: ReturnType<typeof resolveAuthSecret>;
  try {
    auth = resolveAuthSecret(env.GATEHOUSE_DATA_DIR, env.AUTH_SECRET);
  } catch (e) {
    // The data directory cannot be written (disk full, permissions…): say so in one line.
    if ((e as NodeJS.ErrnoException).syscall) fail(`Cannot write the data directory ${env.GATEHOUSE_DATA_DIR}: ${(e as Error).message}`);
    throw e;
  }
  const { secret, generated } = auth;
  process.env.AUTH_SECRET = secret;
  // The audit chains' key: configuration only, never the database (lib/audit/chain.ts).
  setAuditKeyMaterial(env.GATEHOUSE_AUDIT_KEY ?? secret);
  process.env.GATEHOUSE_PUBLIC_URL = env.GATEHOUSE_PUBLIC_URL;
  // Auth.js builds callback and redirect URLs from this, not from the Host header.
  process.env.AUTH_URL ??= `${env.GATEHOUSE_PUBLIC_URL}/api/auth`;

  let database: ResolvedDatabase;
  try {
    database = await resolveDatabase(env);
  } catch (e) {
    if (e instanceof DatabaseUnavailableError || e instanceof MigrationError) fail(e.message);
    throw e;
  }
  const prisma = db();
  if (database.appliedMigrations.length) console.log(`  Applied migrations: ${database.appliedMigrations.join(", ")}`);
  // Demo data only under `npm run dev`, or when GATEHOUSE_SEED_DEMO=true says so (lib/env.ts).
  if (env.GATEHOUSE_SEED_DEMO && (await isEmpty(prisma))) {
    const seeded = await seedDemo(prisma, env.GATEHOUSE_DATA_DIR);
    console.log(`  Seeded the demo world (${seeded.changes} changes).`);
  }
  const firstAdmin = await needsFirstAdmin(prisma, env.GATEHOUSE_BOOTSTRAP_ADMINS);

  const stack = await startDecisionStack({
    prisma,
    databaseUrl: database.url,
    publicUrl: env.GATEHOUSE_PUBLIC_URL,
    authSecret: secret,
    bootstrapAdmins: env.GATEHOUSE_BOOTSTRAP_ADMINS,
    spoolDir: path.join(env.GATEHOUSE_DATA_DIR, "spool"),
    maxStalenessMs: env.GATEHOUSE_MAX_STALENESS_SECONDS * 1000,
    log: (m) => console.log(`  ${m}`),
    ...(env.GATEHOUSE_AUDIT_SINK ? { auditSink: env.GATEHOUSE_AUDIT_SINK } : {}),
    storeDataAccess: env.GATEHOUSE_AUDIT_STORE_DATA_ACCESS,
    audit: {
      checkpointFile: path.join(env.GATEHOUSE_DATA_DIR, "audit", CHECKPOINT_FILE),
      checkpointMs: env.GATEHOUSE_AUDIT_CHECKPOINT_SECONDS * 1000,
      retentionDays: { data_access: env.GATEHOUSE_AUDIT_RETENTION_DAYS_DATA_ACCESS, admin_activity: env.GATEHOUSE_AUDIT_RETENTION_DAYS_ADMIN_ACTIVITY },
    },
    discardDecisionRecords: benchNoAudit,
  });
  if (benchNoAudit) console.error("  ⚠ --bench-no-audit: decisions are NOT recorded (benchmark baseline only)");
  const ctx = stack.ctx;
  registerEngine(ctx.engine, { authSecret: secret, publicUrl: env.GATEHOUSE_PUBLIC_URL }, ctx.log);

  let handle: ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) | null = null;
  let closeNext = async () => {};
  if (!apiOnly) {
    const { default: next } = await import("next");
    const app = next({ dev, dir: process.cwd(), hostname: "localhost", port: env.PORT });
    await app.prepare();
    handle = app.getRequestHandler();
    closeNext = () => app.close();
  }

  const server = http.createServer((req, res) => {
    if (handleHotPath(ctx, req, res)) return;
    if (!handle) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "this instance serves only the decision API (--api-only)" } }));
      return;
    }
    // The requested path and the client's address (from the socket), overwriting client-sent values.
    stampForNext(req);
    void handle(req, res);
  });
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n  ${signal}: stopping Gatehouse…`);
    server.close();
    server.closeIdleConnections();
    await stack.stop().catch((e: unknown) => console.error(`stopping: ${(e as Error).message}`));
    await closeNext().catch(() => {});
    await prisma.$disconnect().catch(() => {});
    await database.stop().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  server.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EADDRINUSE") fail(`Port ${env.PORT} is already in use. Set PORT to another port.`);
    fail(e.message);
  });
  server.listen(env.PORT, env.HOSTNAME, () => {
    const demo = env.GATEHOUSE_SEED_DEMO ? readDemoCredentials(env.GATEHOUSE_DATA_DIR) : null;
    const mode = apiOnly ? "(decision API only)" : dev ? "(development)" : "";
    const lines = [
      "",
      `  Gatehouse${mode ? ` ${mode}` : ""} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      `  ➜ ${apiOnly ? "API:    " : "Console:"}  ${env.GATEHOUSE_PUBLIC_URL}`,
      `  ➜ Database: ${database.embedded ? `embedded PostgreSQL (${embeddedLocation(env.GATEHOUSE_DATA_DIR, database.clusterDir)})` : "DATABASE_URL"}`,
      // The demo password goes to this terminal only, never to a page.
      ...(demo && !apiOnly ? [`  ➜ Sign in:  ${demo.email} / ${demo.password}`] : []),
      ...(firstAdmin ? FIRST_ADMIN_HELP : []),
      ...(generated ? [`  (generated AUTH_SECRET in ${env.GATEHOUSE_DATA_DIR}/auth-secret; set AUTH_SECRET for multiple instances)`] : []),
      "",
    ];
    console.log(lines.join("\n"));
  });
}

/** `.data/postgres`, and where the cluster is when not in there (as root, see lib/db/embedded.ts). */
function embeddedLocation(dataDir: string, clusterDir: string | null): string {
  const container = path.join(dataDir, "postgres");
  return clusterDir && !path.resolve(clusterDir).startsWith(path.resolve(container) + path.sep) ? `${container}, cluster in ${clusterDir}` : container;
}

start().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
