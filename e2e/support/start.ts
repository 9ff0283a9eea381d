// Playwright's web server: a local OIDC issuer plus Gatehouse in production mode (after
// `next build`) with its own embedded PostgreSQL in a fresh data directory.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { E2E } from "./env";
import { startTestIssuer } from "./oidc-issuer";

fs.rmSync(E2E.dataDir, { recursive: true, force: true });
const issuer = await startTestIssuer({ port: E2E.issuerPort, redirectUri: `${E2E.baseURL}/api/auth/callback/oidc` });

const child = spawn(process.execPath, ["--import", "tsx", "lib/server/main.ts"], {
  stdio: "inherit",
  env: {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(E2E.port),
    GATEHOUSE_PUBLIC_URL: E2E.baseURL,
    GATEHOUSE_DATA_DIR: E2E.dataDir,
    DATABASE_URL: "",
    AUTH_SECRET: "e2e-only-auth-secret-0123456789abcdef",
    GATEHOUSE_OIDC_ISSUER: issuer.issuer,
    GATEHOUSE_OIDC_CLIENT_ID: issuer.clientId,
    GATEHOUSE_OIDC_CLIENT_SECRET: issuer.clientSecret,
    GATEHOUSE_OIDC_NAME: "Test SSO",
  },
});

let exiting = false;
const stop = (signal: NodeJS.Signals) => {
  if (exiting) return;
  exiting = true;
  child.kill(signal);
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
child.on("exit", async (code) => {
  await issuer.close();
  process.exit(exiting ? 0 : (code ?? 1));
});
