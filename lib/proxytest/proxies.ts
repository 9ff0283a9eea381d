// Real nginx and Caddy, configured from the SHIPPED files in docs/proxies/ — what is tested is
// what is documented. nginx: docs/proxies/nginx.conf with only its listen port, the two upstream
// addresses and the proxy key substituted, included into a minimal main config that keeps every
// path inside a temp directory. Caddy: docs/proxies/Caddyfile imported unchanged (it reads its
// addresses and key from the environment), under a global block turning off the admin endpoint
// and automatic HTTPS.
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, spawnProc, waitFor, type Proc } from "./procs";

export const PROXY_DOCS_DIR = fileURLToPath(new URL("../../docs/proxies/", import.meta.url));
export const NGINX_BIN = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
export const CADDY_BIN = process.env.CADDY_BIN ?? "caddy";

/** The host the shipped configs protect (their server_name / site address). */
export const APP_HOST = "app.example.com";

export interface ProxyTargets {
  /** Gatehouse's port on 127.0.0.1. */
  gatehousePort: number;
  /** The application's port on 127.0.0.1. */
  appPort: number;
  /** The proxy credential (`proxy-key create`). */
  proxyKey: string;
}

export interface RunningProxy {
  kind: "nginx" | "caddy";
  port: number;
  proc: Proc;
  dir: string;
  stop(): Promise<void>;
}

function replaceOnce(text: string, from: string, to: string): string {
  const n = text.split(from).length - 1;
  if (n !== 1) throw new Error(`docs/proxies/nginx.conf: expected "${from}" exactly once, found it ${n} times`);
  return text.replace(from, () => to);
}

/** docs/proxies/nginx.conf with only the listen port, the upstreams and the key substituted. */
export function renderNginxSite(shipped: string, listenPort: number, t: ProxyTargets): string {
  let s = shipped;
  s = replaceOnce(s, "listen 80;", `listen 127.0.0.1:${listenPort};`);
  s = replaceOnce(s, "server 127.0.0.1:3000;", `server 127.0.0.1:${t.gatehousePort};`);
  s = replaceOnce(s, "server 127.0.0.1:8080;", `server 127.0.0.1:${t.appPort};`);
  s = replaceOnce(s, `default "ghpk_REPLACE_WITH_PROXY_KEY";`, `default "${t.proxyKey}";`);
  return s;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.setTimeout(500);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function startNginx(t: ProxyTargets, options: { workers?: number | "auto"; site?: string; port?: number } = {}): Promise<RunningProxy> {
  const dir = await tempDir("gatehouse-nginx-");
  const port = options.port ?? (await freePort());
  const shipped = await fsp.readFile(path.join(PROXY_DOCS_DIR, "nginx.conf"), "utf8");
  const site = options.site ?? renderNginxSite(shipped, port, t);
  await fsp.writeFile(path.join(dir, "gatehouse-app.conf"), site);
  const isRoot = process.getuid?.() === 0;
  const main = [
    // Debian's nginx drops its workers to www-data; as root in a temp dir, keep them root.
    isRoot ? "user root;" : "",
    `worker_processes ${options.workers ?? 1};`,
    `pid ${path.join(dir, "nginx.pid")};`,
    "error_log stderr warn;",
    "events { worker_connections 4096; }",
    "http {",
    "    access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => `    ${k}_temp_path ${path.join(dir, k)};`),
    `    include ${path.join(dir, "gatehouse-app.conf")};`,
    "}",
    "",
  ].join("\n");
  await fsp.writeFile(path.join(dir, "nginx.conf"), main);
  const proc = spawnProc("nginx", NGINX_BIN, ["-p", dir + "/", "-c", path.join(dir, "nginx.conf"), "-e", "stderr", "-g", "daemon off;"]);
  await waitFor(`nginx on 127.0.0.1:${port}`, () => tcpOpen(port), { proc, timeoutMs: 10_000 });
  return {
    kind: "nginx",
    port,
    proc,
    dir,
    async stop() {
      await proc.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startCaddy(t: ProxyTargets): Promise<RunningProxy> {
  const dir = await tempDir("gatehouse-caddy-");
  const port = await freePort();
  const shipped = path.join(PROXY_DOCS_DIR, "Caddyfile");
  if (!fs.existsSync(shipped)) throw new Error(`missing ${shipped}`);
  const main = ["{", "\tadmin off", "\tauto_https off", "\tdefault_bind 127.0.0.1", "}", `import ${shipped}`, ""].join("\n");
  await fsp.writeFile(path.join(dir, "Caddyfile"), main);
  const proc = spawnProc("caddy", CADDY_BIN, ["run", "--config", path.join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: process.env.NODE_ENV,
      HOME: dir,
      XDG_DATA_HOME: path.join(dir, "data"),
      XDG_CONFIG_HOME: path.join(dir, "config"),
      // The shipped Caddyfile's environment placeholders.
      APP_SITE: `http://${APP_HOST}:${port}`,
      GATEHOUSE_UPSTREAM: `127.0.0.1:${t.gatehousePort}`,
      APP_UPSTREAM: `127.0.0.1:${t.appPort}`,
      GATEHOUSE_PROXY_KEY: t.proxyKey,
    },
  });
  await waitFor(`caddy on 127.0.0.1:${port}`, () => tcpOpen(port), { proc, timeoutMs: 15_000 });
  return {
    kind: "caddy",
    port,
    proc,
    dir,
    async stop() {
      await proc.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
