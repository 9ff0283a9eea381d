// Fixed ports, hosts and paths of the browser-test stack (see playwright.config.ts). Chromium
// resolves *.example.test to 127.0.0.1, so Gatehouse and the proxied app are two hosts, as in a
// real deployment: the app gets its own session through the one-time code exchange.
import fs from "node:fs";
import path from "node:path";

const port = Number(process.env.E2E_PORT ?? 3210);

export const E2E = {
  port,
  issuerPort: port + 1,
  /** nginx (docs/proxies/nginx.conf) in front of the demo web app. */
  nginxPort: port + 2,
  /** Answers 200 once the whole stack is up (Playwright's webServer waits for it). */
  readyPort: port + 3,
  baseURL: `http://gatehouse.example.test:${port}`,
  /** The same server by address, for Node-side requests (Node does not use Chromium's host rules). */
  directURL: `http://127.0.0.1:${port}`,
  appURL: `http://web.example.test:${port + 2}`,
  dataDir: path.resolve(".data/e2e"),
  authSecret: "e2e-only-auth-secret-0123456789abcdef",
};

/** The demo admin's sign-in, written by the first-run seed of the e2e server (GATEHOUSE_SEED_DEMO=true) into the data directory, mode 0600; never shown on a page. */
export function demoCredentials(): { email: string; password: string } {
  return JSON.parse(fs.readFileSync(path.join(E2E.dataDir, "demo-credentials.json"), "utf8")) as { email: string; password: string };
}
