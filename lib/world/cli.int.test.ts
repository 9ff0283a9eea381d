// `npm run gatehouse -- apply -f FILE [--dry-run]` and `export`, end to end against a real
// PostgreSQL (DESIGN.md §6): a dry run prints the diff and writes nothing, apply writes it in one
// revision with one admin-activity record per change as system:cli, again changes nothing, and
// an export applies back as no change.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { cliEnv, runCli } from "@/lib/proxytest/gatehouse";
import { verifyAdminActivity } from "@/lib/audit/verify";
import { DEMO_WORLD_FILE } from "@/lib/admin/seed";

let t: TestDatabase;
let tmp: string;

beforeAll(async () => {
  t = await createTestDatabase();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gh-world-cli-"));
});

afterAll(async () => {
  await t?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const gatehouse = (...args: string[]) => runCli(cliEnv(t.url), args, 120_000);
const revision = async () => (await t.prisma.policyRevision.findUnique({ where: { id: 1 } }))?.value ?? 0n;

describe("CLI apply / export", () => {
  it("dry run, apply, apply again, export and apply the export", async () => {
    const dry = await gatehouse("apply", "-f", DEMO_WORLD_FILE, "--dry-run");
    const lines = dry.trim().split("\n");
    expect(lines).toContain("+ organization organizations/1234");
    expect(lines.at(-1)).toMatch(/^Dry run: \d+ changes would be applied\.$/);
    const planned = Number(/Dry run: (\d+) changes/.exec(lines.at(-1)!)![1]);
    expect(await revision()).toBe(0n);
    expect(await t.prisma.node.count()).toBe(0);
    expect(await t.prisma.adminActivityLog.count()).toBe(0);

    const applied = await gatehouse("apply", "-f", DEMO_WORLD_FILE);
    expect(applied.trim().split("\n").at(-1)).toBe(`Applied ${planned} changes at revision 1.`);
    expect(await revision()).toBe(1n);
    const records = await t.prisma.adminActivityLog.findMany();
    expect(records).toHaveLength(planned);
    expect(new Set(records.map((r) => `${r.actor} ${r.revision}`))).toEqual(new Set(["system:cli 1"]));
    expect(await verifyAdminActivity(t.prisma)).toMatchObject({ ok: true, records: planned });

    expect((await gatehouse("apply", "-f", DEMO_WORLD_FILE)).trim()).toBe("No changes: the database already matches the file.");
    const exported = path.join(tmp, "world.json");
    await gatehouse("export", "-o", exported);
    expect((await gatehouse("apply", "-f", exported)).trim()).toBe("No changes: the database already matches the file.");
    expect(await revision()).toBe(1n);
    expect(await t.prisma.adminActivityLog.count()).toBe(planned);
  });
});
