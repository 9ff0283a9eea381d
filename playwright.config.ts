import { defineConfig } from "@playwright/test";
import { E2E } from "./e2e/support/env";

// Browser tests in Debian's Chromium (Playwright's own browser download is not used), against
// the production build (`npm run test:e2e` builds first) with its own embedded database.
export default defineConfig({
  testDir: "e2e",
  fullyParallel: true,
  workers: process.env.CI ? 2 : undefined,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: [["list"]],
  timeout: 30_000,
  // Sign-ins and password changes hash with scrypt at OWASP's cost (~0.7 s of one core each, by
  // design), and the CLI the account tests spawn compiles on start: with two workers on two cores
  // a page that waits on a hash can take several seconds, so web-first assertions wait up to 15 s.
  expect: { timeout: 15_000 },
  use: {
    baseURL: E2E.baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        // gatehouse.example.test and web.example.test (behind nginx) live on this machine.
        "--host-resolver-rules=MAP *.example.test 127.0.0.1",
      ],
    },
  },
  webServer: {
    command: "tsx e2e/support/start.ts",
    url: `http://127.0.0.1:${E2E.readyPort}/`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
  },
});
