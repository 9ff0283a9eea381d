// Gatehouse as a child process, the way a proxy sees it: `lib/server/main.ts --api-only` (the
// decision paths without Next.js, so it starts in about a second) on a free loopback port, against
// the database it is given; and the CLI run in the same environment.
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort, rawRequest, spawnProc, waitFor, type Proc } from "./procs";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVER = path.join(REPO_ROOT, "lib/server/main.ts");
const CLI = path.join(REPO_ROOT, "lib/cli/main.ts");

/** A fixed secret for test instances (AUTH_SECRET also seals the signing keys at rest). */
export const TEST_AUTH_SECRET = "gatehouse-proxy-tests-auth-secret-0123456789";

export interface Gatehouse {
  port: number;
  /** GATEHOUSE_PUBLIC_URL: the `iss` of every token it signs. */
  url: string;
  /** The environment the server (and `cli`) run with. */
  env: NodeJS.ProcessEnv;
  proc: Proc;
  /** Runs `lib/cli/main.ts` with `args` in the same environment; rejects on a non-zero exit. */
  cli(...args: string[]): Promise<string>;
  /** Stops the server (SIGTERM, then SIGKILL). The data directory is removed. */
  stop(): Promise<void>;
}

/** The last whitespace-separated word of a command's output (where the CLI prints secrets). */
export function lastWord(output: string): string {
  const words = output.trim().split(/\s+/);
  return words[words.length - 1] ?? "";
}

/**
 * The environment tests run the CLI in: that database, a production start (no demo seed), and
 * this process's audit key — the CLI records on the chains the tests verify (vitest.config.ts).
 */
export function cliEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, NODE_ENV: "production", GATEHOUSE_SEED_DEMO: "false", GATEHOUSE_AUDIT_KEY: process.env.GATEHOUSE_AUDIT_KEY, ...extra };
}

export function runCli(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`gatehouse ${args.join(" ")} exited with ${code ?? signal}:\n${out}${err}`));
    });
  });
}

export async function startGatehouse(options: {
  databaseUrl: string;
  extraEnv?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** Extra node options (e.g. --cpu-prof for the benchmark). */
  nodeArgs?: string[];
  /** Run this production bundle (lib/server/build.ts) instead of lib/server/main.ts under tsx. */
  serverBundle?: string;
  /** More server flags after --api-only (e.g. --bench-no-audit). */
  serverArgs?: string[];
}): Promise<Gatehouse> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-data-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    PORT: String(port),
    HOSTNAME: "127.0.0.1",
    GATEHOUSE_DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl,
    AUTH_SECRET: TEST_AUTH_SECRET,
    GATEHOUSE_SEED_DEMO: "false",
    GATEHOUSE_PUBLIC_URL: url,
    ...options.extraEnv,
  };
  const proc = spawnProc("gatehouse", process.execPath, [...(options.nodeArgs ?? []), ...(options.serverBundle ? [options.serverBundle] : ["--import", "tsx", SERVER]), "--api-only", ...(options.serverArgs ?? [])], { cwd: REPO_ROOT, env });
  try {
    await waitFor(
      `Gatehouse /healthz on ${url}`,
      async () => (await rawRequest({ port, path: "/healthz", timeoutMs: 2000 })).status === 200,
      { proc, timeoutMs: options.startTimeoutMs ?? 60_000, intervalMs: 100 },
    );
  } catch (e) {
    await proc.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    url,
    env,
    proc,
    cli: (...args) => runCli(env, args),
    async stop() {
      await proc.stop();
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}
