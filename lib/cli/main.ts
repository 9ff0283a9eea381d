// `npm run gatehouse -- <command>`: works against the configured database whether or not the
// server runs (with the embedded database it reuses the running one, or starts it). Writes go
// through the same code as the server's and bump the revision, so running servers follow them.
// Contract (DESIGN.md §6): when a command prints a secret or token, it is the last word printed.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { env, ConfigError } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { resolveDatabase, DatabaseUnavailableError } from "@/lib/db/connect";
import { db } from "@/lib/db/client";
import { MigrationError } from "@/lib/db/migrate";
import { parseWorld } from "@/lib/world/parse";
import { applyWorld, describeChange } from "@/lib/world/apply";
import { exportWorld } from "@/lib/world/export";
import { worldCatalog } from "@/lib/world/catalog";
import { createProxyKey } from "@/lib/auth/proxy-keys";
import { verifyAdminActivity } from "@/lib/audit/verify";

const USAGE = `Usage: npm run gatehouse -- <command>

  apply -f FILE [--dry-run]          make the database match a world file (YAML or JSON)
  export [-o FILE]                   write the current world as a world file
  proxy-key create --name NAME [--trusted]
                                     create a proxy credential (printed once, stored hashed)
  audit verify                       check the audit hash chains
`;

const ACTOR = "system:cli";

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case "apply": {
      const { values } = parseArgs({ args: rest, options: { file: { type: "string", short: "f" }, "dry-run": { type: "boolean" } } });
      if (!values.file) throw new UsageError("apply needs -f FILE");
      const text = readFile(values.file);
      const world = parseWorld(text, values.file);
      const database = await resolveDatabase(env());
      try {
        const result = await applyWorld(db(), world, { dryRun: values["dry-run"], actor: ACTOR, catalog: worldCatalog() });
        for (const c of result.changes) console.log(describeChange(c));
        const n = result.changes.length;
        if (n === 0) console.log("No changes: the database already matches the file.");
        else if (values["dry-run"]) console.log(`Dry run: ${n} change${n > 1 ? "s" : ""} would be applied.`);
        else console.log(`Applied ${n} change${n > 1 ? "s" : ""} at revision ${result.revision}.`);
      } finally {
        await database.stop();
      }
      return 0;
    }
    case "export": {
      const { values } = parseArgs({ args: rest, options: { output: { type: "string", short: "o" } } });
      const database = await resolveDatabase(env());
      try {
        const world = await exportWorld(db());
        const json = values.output?.endsWith(".json");
        const text = json ? JSON.stringify(world, null, 2) + "\n" : stringify(world, { lineWidth: 0 });
        if (values.output) {
          fs.writeFileSync(values.output, text);
          console.error(`Wrote ${values.output}`);
        } else process.stdout.write(text);
      } finally {
        await database.stop();
      }
      return 0;
    }
    case "proxy-key": {
      const [sub, ...args] = rest;
      if (sub !== "create") throw new UsageError("proxy-key takes: create --name NAME [--trusted]");
      const { values } = parseArgs({ args, options: { name: { type: "string" }, trusted: { type: "boolean" } } });
      if (!values.name) throw new UsageError("proxy-key create needs --name NAME");
      const database = await resolveDatabase(env());
      try {
        const key = await createProxyKey(db(), { name: values.name, trusted: Boolean(values.trusted), actor: ACTOR });
        console.log(`Created proxy key "${values.name}"${values.trusted ? " (trusted: may assert principals)" : ""}. It is shown only once:`);
        console.log(key.secret);
      } finally {
        await database.stop();
      }
      return 0;
    }
    case "audit": {
      if (rest[0] !== "verify") throw new UsageError("audit takes: verify");
      const database = await resolveDatabase(env());
      try {
        const report = await verifyAdminActivity(db());
        if (report.ok) {
          console.log(`admin_activity: ${report.records} records, chain intact`);
          return 0;
        }
        console.log(`admin_activity: chain broken at record seq=${report.firstBroken!.seq}: ${report.firstBroken!.reason}`);
        return 1;
      } finally {
        await database.stop();
      }
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new AppError("NOT_FOUND", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (e instanceof AppError) {
      console.error(`error: ${e.message}`);
      for (const d of e.details) console.error(`  ${d.path ? `${d.path}: ` : ""}${d.message}`);
      process.exit(1);
    }
    if (e instanceof ConfigError || e instanceof DatabaseUnavailableError || e instanceof MigrationError) {
      console.error(`error: ${e.message}`);
      process.exit(1);
    }
    console.error(e);
    process.exit(1);
  },
);
