import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  globalIgnores([".next/**", ".data/**", "node_modules/**", "lib/generated/**", "next-env.d.ts", "test-results/**", "playwright-report/**"]),
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The one write path serves the CLI too: it never depends on Next.js, and the pure core
    // never on I/O, Next.js or Prisma.
    files: ["lib/admin/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["next", "next/*", "react", "react-dom", "@/app/*", "@/components/*"], message: "lib/admin is shared with the CLI: no Next.js or React here." }] }],
    },
  },
  {
    files: ["lib/policy/**"],
    ignores: ["lib/policy/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["next", "next/*", "next-auth", "next-auth/*", "@/lib/generated/*", "@/lib/db/*", "pg", "node:fs", "node:http", "node:net", "@/lib/decide/*", "@/lib/admin/*", "@/lib/auth/*", "@/lib/world/*", "@/lib/audit/*"], message: "lib/policy is the pure core: no I/O, Next.js or Prisma." }] }],
    },
  },
]);
