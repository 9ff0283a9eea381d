// Runs `prisma generate` at install time.
// Prisma's CLI tries to download its native schema engine before generating, and that download
// is not reachable everywhere (see README). Generation itself needs no engine, so when none is
// configured we point PRISMA_SCHEMA_ENGINE_BINARY at an existing file (this Node binary) to skip it.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
const cli = require.resolve("prisma/build/index.js");
const r = spawnSync(process.execPath, [cli, "generate"], { stdio: "inherit", env });
process.exit(r.status ?? 1);
