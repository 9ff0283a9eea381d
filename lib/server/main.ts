// The Gatehouse process: one node:http server. Paths that proxies call on every request are
// answered here directly (a Next.js route handler is ~30x slower, see README); everything else
// is handed to Next.js, which renders the console and the admin API.
//
// Start-up: validate configuration → resolve the database (embedded PostgreSQL when
// DATABASE_URL is unset) → apply migrations → seed the demo world on first run → start Next →
// listen. SIGINT/SIGTERM close the server and stop the embedded database.
import http from "node:http";
import next from "next";
import { parseEnv, ConfigError, type Env } from "@/lib/env";
import { resolveDatabase, DatabaseUnavailableError, type ResolvedDatabase } from "@/lib/db/connect";
import { MigrationError } from "@/lib/db/migrate";
import { db } from "@/lib/db/client";
import { isEmpty, seedDemo } from "@/lib/db/seed";
import { readDemoCredentials } from "@/lib/auth/providers";
import { REQUEST_PATH_HEADER } from "@/lib/auth/request-path";
import { resolveAuthSecret } from "./secret";

const dev = process.argv.includes("--dev");

function fail(message: string): never {
  console.error(`\n  ✖ ${message}\n`);
  process.exit(1);
}

async function start(): Promise<void> {
  const started = performance.now();
  let env: Env;
  try {
    env = parseEnv();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  const { secret, generated } = resolveAuthSecret(env.GATEHOUSE_DATA_DIR, env.AUTH_SECRET);
  process.env.AUTH_SECRET = secret;
  process.env.GATEHOUSE_PUBLIC_URL = env.GATEHOUSE_PUBLIC_URL;

  let database: ResolvedDatabase;
  try {
    database = await resolveDatabase(env);
  } catch (e) {
    if (e instanceof DatabaseUnavailableError || e instanceof MigrationError) fail(e.message);
    throw e;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n  ${signal}: stopping Gatehouse…`);
    server.close();
    await db().$disconnect().catch(() => {});
    await database.stop().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  if (database.appliedMigrations.length) console.log(`  Applied migrations: ${database.appliedMigrations.join(", ")}`);
  if (env.GATEHOUSE_SEED_DEMO && (await isEmpty(db()))) {
    const seeded = await seedDemo(db(), env.GATEHOUSE_DATA_DIR);
    console.log(`  Seeded the demo world (${seeded.changes} changes).`);
  }

  const app = next({ dev, dir: process.cwd(), hostname: "localhost", port: env.PORT });
  await app.prepare();
  const handle = app.getRequestHandler();

  const server = http.createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ status: "ok" }));
      return;
    }
    req.headers[REQUEST_PATH_HEADER] = req.url ?? "/";
    void handle(req, res);
  });
  server.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EADDRINUSE") fail(`Port ${env.PORT} is already in use. Set PORT to another port.`);
    fail(e.message);
  });
  server.listen(env.PORT, env.HOSTNAME, () => {
    const demo = env.GATEHOUSE_SEED_DEMO ? readDemoCredentials(env.GATEHOUSE_DATA_DIR) : null;
    const lines = [
      "",
      `  Gatehouse ${dev ? "(development)" : ""} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      `  ➜ Console:  ${env.GATEHOUSE_PUBLIC_URL}`,
      `  ➜ Database: ${database.embedded ? `embedded PostgreSQL (${env.GATEHOUSE_DATA_DIR}/postgres)` : "DATABASE_URL"}`,
      ...(demo ? [`  ➜ Sign in:  ${demo.email} / ${demo.password}`] : []),
      ...(generated ? [`  (generated AUTH_SECRET in ${env.GATEHOUSE_DATA_DIR}/auth-secret; set AUTH_SECRET for multiple instances)`] : []),
      "",
    ];
    console.log(lines.join("\n"));
  });
}

start().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
