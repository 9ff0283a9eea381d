import { defineConfig } from "vitest/config";
import path from "node:path";

// Two projects: `unit` (pure, no I/O, runs in seconds) and `integration` (real PostgreSQL,
// each test file in its own fresh database; see lib/test/db.ts).
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    // Audit chains are keyed (lib/audit/chain.ts); processes the tests start inherit this too.
    env: { GATEHOUSE_AUDIT_KEY: "test-only-audit-key-0123456789abcdef0123" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["lib/**/*.test.ts"],
          exclude: ["lib/**/*.int.test.ts", "node_modules/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["lib/**/*.int.test.ts"],
          globalSetup: ["lib/test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
