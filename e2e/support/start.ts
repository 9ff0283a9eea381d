// Playwright's web server: a local OIDC issuer, Gatehouse in production mode (after `npm run build`)
// with its own embedded PostgreSQL in a fresh data directory, and the shipped nginx config in
// front of a backend that verifies the signed header — the whole path a browser takes.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { renderNginxSite, startNginx, PROXY_DOCS_DIR, APP_HOST, type RunningProxy } from "@/lib/proxytest/proxies";
import { E2E } from "./env";
import { startTestIssuer } from "./oidc-issuer";

fs.rmSync(E2E.dataDir, { recursive: true, force: true });
const issuer = await startTestIssuer({ port: E2E.issuerPort, redirectUri: `${E2E.baseURL}/api/auth/callback/oidc` });

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: "production",
  PORT: String(E2E.port),
  GATEHOUSE_PUBLIC_URL: E2E.baseURL,
  GATEHOUSE_DATA_DIR: E2E.dataDir,
  DATABASE_URL: "",
  AUTH_SECRET: E2E.authSecret,
  // Production seeds the demo world only when told so; its sign-in goes to the terminal and to
  // demo-credentials.json in the data directory, where the specs read it.
  GATEHOUSE_SEED_DEMO: "true",
  GATEHOUSE_OIDC_ISSUER: issuer.issuer,
  GATEHOUSE_OIDC_CLIENT_ID: issuer.clientId,
  GATEHOUSE_OIDC_CLIENT_SECRET: issuer.clientSecret,
  GATEHOUSE_OIDC_NAME: "Test SSO",
};
// What `npm start` runs: the production bundle that `npm run build` made.
const child = spawn(process.execPath, ["lib/server/start.mjs"], { stdio: "inherit", env });

let nginx: RunningProxy | null = null;
let backend: http.Server | null = null;
let ready: http.Server | null = null;
let exiting = false;
const stop = (signal: NodeJS.Signals) => {
  if (exiting) return;
  exiting = true;
  child.kill(signal);
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
child.on("exit", async (code) => {
  await nginx?.stop().catch(() => {});
  backend?.close();
  ready?.close();
  await issuer.close();
  process.exit(exiting ? 0 : (code ?? 1));
});

async function until(what: string, probe: () => Promise<boolean>, ms = 90_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}
await until("Gatehouse", async () => (await fetch(`${E2E.directURL}/healthz`)).ok);

// The proxy's credential, created with the CLI against the running server's database.
const out = await new Promise<string>((resolve, reject) => {
  const cli = spawn(process.execPath, ["--import", "tsx", "lib/cli/main.ts", "proxy-key", "create", "--name", "e2e-nginx"], { env });
  let text = "";
  cli.stdout.on("data", (d: Buffer) => (text += d.toString()));
  cli.on("exit", (c) => (c === 0 ? resolve(text) : reject(new Error(`proxy-key create exited ${c}`))));
});
const proxyKey = out.trim().split(/\s+/).pop()!;

// The application: it trusts only the verified assertion (docs/backend.md).
const jwks = createRemoteJWKSet(new URL(`${E2E.directURL}/.well-known/jwks.json`));
backend = http.createServer((req, res) => {
  const assertion = req.headers["x-goog-iap-jwt-assertion"];
  jwtVerify(typeof assertion === "string" ? assertion : "", jwks, { issuer: `${E2E.baseURL}/iap`, audience: "/projects/100200300/global/backendServices/web", algorithms: ["ES256"] }).then(
    ({ payload }) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      // What reached the app, for the specs to check (escaped: this is test output, not a pattern).
      const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      res.end(
        `<!doctype html><title>Web app</title><h1>Hello ${esc(String(payload.email))}</h1><p id="path">${esc(req.url ?? "")}</p>` +
          `<p id="cookies">${esc(req.headers.cookie ?? "")}</p>`,
      );
    },
    () => {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end("no verified identity");
    },
  );
});
await new Promise<void>((r) => backend!.listen(0, "127.0.0.1", () => r()));
const appPort = (backend.address() as { port: number }).port;

const shipped = fs.readFileSync(`${PROXY_DOCS_DIR}/nginx.conf`, "utf8").split(`server_name ${APP_HOST};`).join("server_name web.example.test;");
const site = renderNginxSite(shipped, E2E.nginxPort, { gatehousePort: E2E.port, appPort, proxyKey });
nginx = await startNginx({ gatehousePort: E2E.port, appPort, proxyKey }, { site, port: E2E.nginxPort });

ready = http.createServer((_req, res) => {
  res.writeHead(200);
  res.end("ready");
});
ready.listen(E2E.readyPort, "127.0.0.1");
