// Fixed ports and paths of the browser-test stack (see playwright.config.ts).
import fs from "node:fs";
import path from "node:path";

const port = Number(process.env.E2E_PORT ?? 3210);

export const E2E = {
  port,
  issuerPort: port + 1,
  baseURL: `http://localhost:${port}`,
  dataDir: path.resolve(".data/e2e"),
};

/** The demo admin's sign-in, written by the first-run seed of the e2e server. */
export function demoCredentials(): { email: string; password: string } {
  return JSON.parse(fs.readFileSync(path.join(E2E.dataDir, "demo-credentials.json"), "utf8")) as { email: string; password: string };
}
