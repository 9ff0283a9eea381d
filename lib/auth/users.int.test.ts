// `npm run gatehouse -- user create|reset-password|disable|list` as a real process against a
// test database, and instance owners as the live engine sees them (before and after the
// organization exists, and through the change feed).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { PolicyEngine } from "@/lib/decide/engine";
import { evaluate } from "@/lib/policy";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { verifyPassword } from "./password";
import { accountKey } from "./throttle";
import { sessionStanding } from "./users";
import { createUser } from "@/lib/admin/users";
import { SYSTEM_CLI } from "@/lib/admin/context";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(path.join(ROOT, "node_modules/.bin/tsx"), ["lib/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: t.url, AUTH_SECRET: "users-integration-test-auth-secret-0123456789", NODE_ENV: "test", GATEHOUSE_BOOTSTRAP_ADMINS: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const lastWord = (s: string) => s.trim().split(/\s+/).at(-1)!;

async function passwordHash(email: string): Promise<string> {
  const u = await t.prisma.user.findUniqueOrThrow({ where: { email }, select: { passwordHash: true } });
  return u.passwordHash!;
}

function canSetProjectPolicy(engine: PolicyEngine, email: string, project: string): boolean {
  return evaluate(engine.current().snapshot, {
    principal: `user:${email}`,
    resource: project,
    permission: "resourcemanager.projects.setIamPolicy",
    request: { time: new Date() },
  }).allowed;
}

describe("gatehouse user", () => {
  it("create makes the principal, the console account and their audit records, and prints a one-time password last", async () => {
    const before = await t.prisma.policyRevision.findUnique({ where: { id: 1 } });
    const r = await cli("user", "create", "--email", "Ada@Example.com", "--display-name", "Ada Lovelace");
    expect(r.code).toBe(0);
    const password = lastWord(r.stdout);
    expect(password).toMatch(/^[\w-]{20}$/);
    expect(r.stdout.trim()).toBe(password); // stdout holds the secret alone; the rest is on stderr

    const principal = await t.prisma.principal.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    expect(principal).toMatchObject({ kind: "USER", displayName: "Ada Lovelace", disabled: false });
    const user = await t.prisma.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
    expect(user).toMatchObject({ name: "Ada Lovelace", passwordMustChange: true });
    expect(await verifyPassword(password, await passwordHash("ada@example.com"))).toBe(true);
    expect((await passwordHash("ada@example.com")).startsWith("scrypt$131072$8$1$")).toBe(true);

    // The IAM write: revision bumped, change recorded, audit entries in the same transaction.
    const after = await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } });
    expect(after.value).toBe((before?.value ?? 0n) + 1n);
    expect(await t.prisma.policyChange.findMany({ where: { revision: after.value }, select: { kind: true, key: true } })).toEqual([{ kind: "principal", key: "ada@example.com" }]);
    const audit = await t.prisma.adminActivityLog.findMany({ where: { resourceName: "users/ada@example.com" }, orderBy: { seq: "asc" } });
    // One change, one record.
    expect(audit.map((a) => [a.methodName, a.actor, a.revision])).toEqual([["CreateUser", "system:cli", after.value]]);
    expect(audit[0]!.response).toEqual({ principalCreated: true, oneTimePassword: true });
    expect(JSON.stringify(audit, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).not.toContain(password);

    // Once only: a second create is refused and changes nothing.
    const again = await cli("user", "create", "--email", "ada@example.com");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has a console account/);
    expect(await verifyPassword(password, await passwordHash("ada@example.com"))).toBe(true);
  });

  it("create refuses service-account addresses and bad emails", async () => {
    expect((await cli("user", "create", "--email", "robot@demo.iam.gserviceaccount.com")).stderr).toMatch(/service-account address/);
    expect((await cli("user", "create", "--email", "аda@example.com")).code).toBe(1); // Cyrillic а
    expect((await cli("user", "create")).code).toBe(2);
  });

  it("create uses an existing principal (e.g. from a world file): the account is recorded, the engine has nothing to reload", async () => {
    await t.prisma.principal.create({ data: { kind: "USER", email: "grace@example.com", displayName: "Grace" } });
    const before = await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } });
    const r = await cli("user", "create", "--email", "grace@example.com");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/existing principal user:grace@example.com/);
    const after = (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value;
    expect(after).toBe(before.value + 1n);
    expect(await t.prisma.policyChange.count({ where: { revision: after } })).toBe(0);
    const audit = await t.prisma.adminActivityLog.findMany({ where: { resourceName: "users/grace@example.com" } });
    expect(audit.map((a) => [a.methodName, a.response])).toEqual([["CreateUser", { principalCreated: false, oneTimePassword: true }]]);
  });

  it("reset-password prints a new one-time password last, ends sessions and forgets the throttle", async () => {
    const first = lastWord((await cli("user", "create", "--email", "linus@example.com")).stdout);
    await t.prisma.user.update({ where: { email: "linus@example.com" }, data: { passwordMustChange: false } });
    await t.prisma.signInThrottle.create({ data: { key: accountKey("linus@example.com"), failures: 7, lastAttemptAt: new Date(), lockedUntil: new Date(Date.now() + 600_000) } });
    const signedInAt = Date.now() - 1000;
    expect(await sessionStanding(t.prisma, "linus@example.com", signedInAt)).toMatchObject({ ok: true });

    const r = await cli("user", "reset-password", "--email", "Linus@example.com");
    expect(r.code).toBe(0);
    const second = lastWord(r.stdout);
    expect(second).toMatch(/^[\w-]{20}$/);
    expect(second).not.toBe(first);
    const hash = await passwordHash("linus@example.com");
    expect(await verifyPassword(second, hash)).toBe(true);
    expect(await verifyPassword(first, hash)).toBe(false);
    expect((await t.prisma.user.findUniqueOrThrow({ where: { email: "linus@example.com" } })).passwordMustChange).toBe(true);
    expect(await t.prisma.signInThrottle.count({ where: { key: accountKey("linus@example.com") } })).toBe(0);
    // A session signed in before the reset no longer stands; one signed in after it does.
    expect(await sessionStanding(t.prisma, "linus@example.com", signedInAt)).toEqual({ ok: false });
    expect(await sessionStanding(t.prisma, "linus@example.com", Date.now() + 1)).toMatchObject({ ok: true, passwordMustChange: true });
    expect(await t.prisma.adminActivityLog.count({ where: { resourceName: "users/linus@example.com", methodName: "ResetConsolePassword" } })).toBe(1);

    const unknown = await cli("user", "reset-password", "--email", "nobody@example.com");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no console account/);
  });

  it("disable ends the user's sessions and is recorded as an IAM change; enable restores", async () => {
    await cli("user", "create", "--email", "mallory@example.com");
    expect(await sessionStanding(t.prisma, "mallory@example.com", Date.now())).toMatchObject({ ok: true });
    const r = await cli("user", "disable", "--email", "mallory@example.com");
    expect(r.code).toBe(0);
    const p = await t.prisma.principal.findUniqueOrThrow({ where: { email: "mallory@example.com" } });
    expect(p.disabled).toBe(true);
    const rev = await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } });
    expect(await t.prisma.policyChange.findMany({ where: { revision: rev.value }, select: { kind: true, key: true } })).toEqual([{ kind: "principal", key: "mallory@example.com" }]);
    expect(await sessionStanding(t.prisma, "mallory@example.com", Date.now())).toEqual({ ok: false });
    await cli("user", "enable", "--email", "mallory@example.com");
    expect(await sessionStanding(t.prisma, "mallory@example.com", Date.now())).toMatchObject({ ok: true });
  });

  it("list shows accounts, owners and states", async () => {
    const r = await cli("user", "list");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ada@example\.com\tAda Lovelace\tpassword: one-time$/m);
    expect(r.stdout).toMatch(/^linus@example\.com\t\tpassword: one-time$/m);
  });
});

describe("instance owners (user create --owner)", () => {
  let o: TestDatabase;
  let engine: PolicyEngine;
  beforeAll(async () => {
    o = await createTestDatabase();
    // An empty database: no organization exists yet.
    engine = new PolicyEngine(o.prisma, { databaseUrl: o.url, bootstrapAdmins: ["env-admin@example.com"], pollMs: 100 });
    await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    await o.drop();
  });

  const world = (org: string, project: string) =>
    parseWorld(`organizations: [{ id: "${org}", displayName: Org ${org} }]\nprojects: [{ id: ${project}, number: "${org}00", parent: organizations/${org} }]\n`, "w.yaml");

  it("hold roles/owner on an organization created later, merged with GATEHOUSE_BOOTSTRAP_ADMINS, followed through the change feed", async () => {
    const cli = { db: o.prisma, actor: SYSTEM_CLI };
    const owner = await createUser(cli, { email: "owner@example.com", owner: true });
    expect(owner.user.owner).toBe(true);
    expect(await o.prisma.instanceOwner.findMany({ select: { email: true } })).toEqual([{ email: "owner@example.com" }]);
    const rev = owner.revision!;
    expect(await o.prisma.policyChange.findMany({ where: { revision: rev }, select: { kind: true, key: true }, orderBy: { kind: "asc" } })).toEqual([
      { kind: "instanceOwners", key: "owner@example.com" },
      { kind: "principal", key: "owner@example.com" },
    ]);
    const audit = await o.prisma.adminActivityLog.findMany({ where: { resourceName: "users/owner@example.com", revision: rev } });
    expect(audit.map((a) => [a.methodName, a.bindingDeltas])).toEqual([["CreateUser", [{ action: "ADD", role: "roles/owner", member: "user:owner@example.com" }]]]);
    await createUser(cli, { email: "plain@example.com" });

    // The organization arrives after the owner.
    const applied = await applyWorld(o.prisma, world("77", "p77"), { actor: "system:cli", catalog: worldCatalog() });
    expect(await engine.waitFor(applied.revision!, 10_000)).toBe(true);
    expect(canSetProjectPolicy(engine, "owner@example.com", "projects/p77")).toBe(true);
    expect(canSetProjectPolicy(engine, "env-admin@example.com", "projects/p77")).toBe(true);
    expect(canSetProjectPolicy(engine, "plain@example.com", "projects/p77")).toBe(false);

    // A new owner while the organization exists reaches the running engine through the feed.
    const second = await createUser(cli, { email: "second@example.com", owner: true });
    expect(canSetProjectPolicy(engine, "second@example.com", "projects/p77")).toBe(false);
    expect(await engine.waitFor(second.revision!, 10_000)).toBe(true);
    expect(canSetProjectPolicy(engine, "second@example.com", "projects/p77")).toBe(true);
    expect(canSetProjectPolicy(engine, "owner@example.com", "projects/p77")).toBe(true);

    // A fresh instance (full load) sees the same owners.
    const fresh = new PolicyEngine(o.prisma, { databaseUrl: o.url, bootstrapAdmins: [], pollMs: 60_000 });
    await fresh.start();
    try {
      expect(canSetProjectPolicy(fresh, "owner@example.com", "projects/p77")).toBe(true);
      expect(canSetProjectPolicy(fresh, "second@example.com", "projects/p77")).toBe(true);
      expect(canSetProjectPolicy(fresh, "env-admin@example.com", "projects/p77")).toBe(false);
    } finally {
      await fresh.stop();
    }
  });

  it("through the CLI on an empty database: --owner before any organization exists", async () => {
    const e = await createTestDatabase();
    try {
      const { stdout, stderr } = await run(path.join(ROOT, "node_modules/.bin/tsx"), ["lib/cli/main.ts", "user", "create", "--email", "first@example.com", "--owner"], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: e.url, AUTH_SECRET: "users-integration-test-auth-secret-0123456789", NODE_ENV: "test" },
      });
      expect(stderr).toMatch(/instance owner/);
      expect(lastWord(stdout)).toMatch(/^[\w-]{20}$/);
      expect(await e.prisma.node.count()).toBe(0);
      await applyWorld(e.prisma, world("88", "p88"), { actor: "system:cli", catalog: worldCatalog() });
      const eng = new PolicyEngine(e.prisma, { databaseUrl: e.url, bootstrapAdmins: [], pollMs: 60_000 });
      await eng.start();
      try {
        expect(canSetProjectPolicy(eng, "first@example.com", "projects/p88")).toBe(true);
      } finally {
        await eng.stop();
      }
    } finally {
      await e.drop();
    }
  });
});
