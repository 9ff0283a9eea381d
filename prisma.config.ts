import { defineConfig } from "prisma/config";

// DATABASE_URL is optional here: `prisma generate` runs at install time on machines with no
// database, and Gatehouse itself resolves the URL at start-up (embedded PostgreSQL when unset).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  ...(process.env.DATABASE_URL ? { datasource: { url: process.env.DATABASE_URL } } : {}),
});
