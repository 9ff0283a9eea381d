// One resource's policy out and back in, as gcloud's get-iam-policy / set-iam-policy do it:
// setIamPolicy's dry run and no-change rule (the function, the API flag), the policy file in
// JSON and YAML, and the CLI's `policy get` / `policy set` end to end against a real PostgreSQL.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { cliEnv, runCli } from "@/lib/proxytest/gatehouse";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import { hotPathServer, startDecisionStack, type DecisionStack } from "@/lib/decide/stack";
import { etagFor } from "@/lib/db/revision";
import { readPolicies } from "@/lib/db/policy-rows";
import { SYSTEM_CLI, type AdminContext } from "./context";
import { getIamPolicy, setIamPolicy, type IamPolicy } from "./policies";
import { formatPolicyFile, parsePolicyFile } from "./policy-file";

const AUTH_SECRET = "test-only-auth-secret-0123456789abcdef";
const PUBLIC_URL = "http://gatehouse.test";
const ORG = "organizations/1";
const PROJECT = "projects/p1";
const APP = "projects/p1/iap_web/compute/services/app";
const ACCESSOR = "roles/iap.httpsResourceAccessor";
const NOT_ADMIN = { title: "Not admin", description: "outside /admin", expression: "!request.path.startsWith('/admin')" };

const WORLD = {
  organizations: [{ id: "1", domain: "acme.test" }],
  projects: [{ id: "p1", number: "4242", parent: ORG }],
  resources: [{ name: APP, iap: true, hosts: ["app.acme.test"] }],
  users: ["owner", "iapadmin", "viewer", "alice", "bob"].map((u) => ({ email: `${u}@acme.test` })),
  groups: [{ email: "eng@acme.test", members: ["user:alice@acme.test"] }],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    { resource: PROJECT, bindings: [{ role: "roles/iap.admin", members: ["user:iapadmin@acme.test"] }, { role: "roles/viewer", members: ["user:viewer@acme.test"] }] },
    { resource: APP, bindings: [{ role: ACCESSOR, members: ["group:eng@acme.test"], condition: NOT_ADMIN }, { role: ACCESSOR, members: ["user:bob@acme.test"] }] },
  ],
};

let t: TestDatabase;
let cli: AdminContext;
let stack: DecisionStack;
let server: Server;
let base: string;
const tokens: Record<string, string> = {};
let tmp: string;

beforeAll(async () => {
  t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(JSON.stringify(WORLD)), { actor: SYSTEM_CLI, catalog: worldCatalog() });
  cli = { db: t.prisma, actor: SYSTEM_CLI };
  stack = await startDecisionStack({ prisma: t.prisma, databaseUrl: t.url, publicUrl: PUBLIC_URL, authSecret: AUTH_SECRET, bootstrapAdmins: [], spoolDir: fs.mkdtempSync(path.join(os.tmpdir(), "gh-pf-")) });
  server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const u of ["owner", "viewer"]) tokens[u] = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: `user:${u}@acme.test`, audience: PUBLIC_URL })).token;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gh-policy-files-"));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await stack?.stop();
  await t?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const get = (resource = APP) => getIamPolicy(cli, resource, { options: { requestedPolicyVersion: 3 } });

/** Everything a write leaves: the revision, the records, the versions kept, the stored members. */
async function state() {
  return JSON.stringify([
    (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value.toString(),
    await t.prisma.adminActivityLog.count(),
    await t.prisma.policyVersion.count(),
    await t.prisma.policyChange.count(),
    await t.prisma.allowPolicy.findMany({ orderBy: { resourceName: "asc" }, select: { resourceName: true, etag: true } }),
    await t.prisma.bindingMember.findMany({ orderBy: [{ bindingId: "asc" }, { member: "asc" }], select: { bindingId: true, member: true, position: true } }),
  ]);
}

async function changesNothing<T>(fn: () => Promise<T>): Promise<T> {
  const before = await state();
  const r = await fn();
  expect(await state()).toBe(before);
  return r;
}

const withMember = (p: IamPolicy, role: string, member: string): IamPolicy => ({
  ...p,
  bindings: p.bindings.map((b) => (b.role === role && !b.condition ? { ...b, members: [...b.members, member] } : b)),
});

describe("setIamPolicy: no change, dry run", () => {
  it("a set of the policy just read changes nothing and says so — directly, and through a JSON or YAML file", async () => {
    const p = await get();
    for (const input of [p, parsePolicyFile(formatPolicyFile(p, "json"), "p.json"), parsePolicyFile(formatPolicyFile(p, "yaml"), "p.yaml")]) {
      const r = await changesNothing(() => setIamPolicy(cli, APP, { policy: input }));
      expect(r).toEqual({ policy: p, revision: null, bindingDeltas: [], changed: false, dryRun: false });
    }
  });

  it("a dry run checks, reports the deltas and the policy it would store, and writes nothing", async () => {
    const p = await get();
    const edited = { ...withMember(p, ACCESSOR, "user:Alice@acme.test"), bindings: [...withMember(p, ACCESSOR, "user:Alice@acme.test").bindings.filter((b) => !b.condition)] };
    const dry = await changesNothing(() => setIamPolicy(cli, APP, { policy: edited }, { dryRun: true }));
    expect(dry).toEqual({
      policy: { version: 1, etag: p.etag, bindings: [{ role: ACCESSOR, members: ["user:bob@acme.test", "user:alice@acme.test"] }] },
      revision: null,
      bindingDeltas: [
        { action: "ADD", role: ACCESSOR, member: "user:alice@acme.test" },
        { action: "REMOVE", role: ACCESSOR, member: "group:eng@acme.test", condition: NOT_ADMIN },
      ],
      changed: true,
      dryRun: true,
    });
    // The body's flag is the same as the option.
    expect(await changesNothing(() => setIamPolicy(cli, APP, { policy: edited, dryRun: true }))).toEqual(dry);
    // A stale etag is refused in a dry run as in the write.
    await expect(changesNothing(() => setIamPolicy(cli, APP, { policy: { ...edited, etag: etagFor(999n) } }, { dryRun: true }))).rejects.toMatchObject({ code: "ABORTED" });
    // The real write then makes exactly what the dry run announced.
    const real = await setIamPolicy(cli, APP, { policy: edited });
    expect(real).toMatchObject({ changed: true, dryRun: false, bindingDeltas: dry.bindingDeltas, policy: { ...dry.policy, etag: expect.not.stringMatching(p.etag) } });
    expect(real.revision).not.toBeNull();
    expect(await get()).toEqual(real.policy);
    // Put the conditional binding back for the other tests; the version kept of each write is
    // the policy as read back from its rows (here taken from the rows as written).
    const back = await setIamPolicy(cli, APP, { policy: { ...p, etag: real.policy.etag } });
    for (const r of [real, back]) {
      const version = await t.prisma.policyVersion.findUniqueOrThrow({ where: { resourceName_revision: { resourceName: APP, revision: r.revision! } } });
      expect({ etag: version.etag, bindings: version.bindings }).toEqual({ etag: r.policy.etag, bindings: r.policy.bindings });
    }
    const [stored] = await readPolicies(t.prisma, [APP]);
    expect(stored!.bindings).toEqual(back.policy.bindings);
    expect(back.policy.bindings.some((b) => b.condition?.description)).toBe(true);
  });

  it("a stale etag is refused and nothing is written", async () => {
    const p = await get(PROJECT);
    await setIamPolicy(cli, PROJECT, { policy: withMember(p, "roles/viewer", "user:alice@acme.test") });
    await expect(changesNothing(() => setIamPolicy(cli, PROJECT, { policy: withMember(p, "roles/viewer", "user:bob@acme.test") }))).rejects.toMatchObject({ code: "ABORTED" });
  });
});

describe("the API's dryRun flag", () => {
  const call = async (who: string, resource: string, body: unknown, mount = "api/v1") => {
    const res = await fetch(`${base}/${mount}/${resource}:setIamPolicy`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[who]}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, revision: res.headers.get("x-gatehouse-revision"), body: (await res.json()) as Record<string, unknown> };
  };

  it("answers { policy, bindingDeltas, dryRun } without a revision, and writes nothing", async () => {
    const p = await get(PROJECT);
    for (const mount of ["api/v1", "v1", "v3"]) {
      const r = await changesNothing(() => call("owner", PROJECT, { policy: withMember(p, "roles/viewer", "user:bob@acme.test"), dryRun: true }, mount));
      expect(r).toEqual({
        status: 200,
        revision: null,
        body: { policy: { ...withMember(p, "roles/viewer", "user:bob@acme.test"), version: 1 }, bindingDeltas: [{ action: "ADD", role: "roles/viewer", member: "user:bob@acme.test" }], dryRun: true },
      });
    }
  });

  it("refuses in a dry run what it would refuse in the write", async () => {
    const p = await get(PROJECT);
    const r = await changesNothing(() => call("viewer", PROJECT, { policy: withMember(p, "roles/viewer", "user:bob@acme.test"), dryRun: true }));
    expect(r.status).toBe(403);
    // Leaving the organization without an owner is refused before anything is kept.
    const org = await get(ORG);
    const orphan = await changesNothing(() => call("owner", ORG, { policy: { ...org, bindings: [] }, dryRun: true }));
    expect(orphan).toMatchObject({ status: 409, body: { error: { code: "FAILED_PRECONDITION" } } });
  });

  it("a set that changes nothing answers the stored policy, its etag unchanged, without a revision", async () => {
    const p = await get(PROJECT);
    const r = await changesNothing(() => call("owner", PROJECT, { policy: p }));
    expect(r).toEqual({ status: 200, revision: null, body: p });
  });
});

// Each test spawns the CLI (tsx compiles it on start) several times: allow for a loaded machine.
describe("CLI: policy get / policy set", { timeout: 240_000 }, () => {
  const gatehouse = (...args: string[]) => runCli(cliEnv(t.url), args, 120_000);

  it("writes gcloud's JSON (stdout, .json) and YAML (.yaml), and reads them back unchanged", async () => {
    const p = await get();
    const stdout = await gatehouse("policy", "get", APP);
    expect(JSON.parse(stdout)).toEqual(p);
    // gcloud's shape: keys sorted at every level, two-space indents.
    expect(stdout).toBe(JSON.stringify({ bindings: p.bindings.map((b) => ({ ...(b.condition ? { condition: { description: b.condition.description, expression: b.condition.expression, title: b.condition.title } } : {}), members: b.members, role: b.role })), etag: p.etag, version: 3 }, null, 2) + "\n");
    const yamlFile = path.join(tmp, "app.yaml");
    const jsonFile = path.join(tmp, "app.json");
    await gatehouse("policy", "get", APP, "-o", yamlFile);
    await gatehouse("policy", "get", APP, "-o", jsonFile);
    const yamlText = fs.readFileSync(yamlFile, "utf8");
    expect(yamlText).toBe(
      `bindings:\n- members:\n  - user:bob@acme.test\n  role: ${ACCESSOR}\n- condition:\n    description: outside /admin\n` +
        `    expression: "!request.path.startsWith('/admin')"\n    title: Not admin\n  members:\n  - group:eng@acme.test\n  role: ${ACCESSOR}\n` +
        `etag: ${p.etag}\nversion: 3\n`,
    );
    expect(parseYaml(yamlText)).toEqual(JSON.parse(fs.readFileSync(jsonFile, "utf8")));
    for (const file of [yamlFile, jsonFile]) {
      const out = await changesNothing(() => gatehouse("policy", "set", APP, "-f", file));
      expect(out.trim()).toBe(`No changes: the policy of ${APP} already matches ${file}.`);
    }
  });

  it("set --dry-run prints the deltas and writes nothing; set writes them; the same file again is stale", async () => {
    const file = path.join(tmp, "project.yaml");
    await gatehouse("policy", "get", PROJECT, "-o", file);
    const edited = fs.readFileSync(file, "utf8").replace("- user:viewer@acme.test", "- user:viewer@acme.test\n  - group:eng@acme.test");
    expect(edited).not.toBe(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, edited);
    const dry = await changesNothing(() => gatehouse("policy", "set", PROJECT, "-f", file, "--dry-run"));
    expect(dry.trim().split("\n")).toEqual(["+ roles/viewer group:eng@acme.test", `Dry run: 1 binding change would be made to the policy of ${PROJECT}; nothing was written.`]);
    const before = (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value;
    const out = await gatehouse("policy", "set", PROJECT, "-f", file);
    const after = await get(PROJECT);
    expect(out.trim().split("\n")).toEqual(["+ roles/viewer group:eng@acme.test", `Updated the policy of ${PROJECT}: 1 binding change at revision ${before + 1n} (etag ${after.etag}).`]);
    expect(after.bindings.find((b) => b.role === "roles/viewer")?.members).toContain("group:eng@acme.test");
    const record = await t.prisma.adminActivityLog.findFirstOrThrow({ orderBy: { seq: "desc" } });
    expect(record).toMatchObject({ actor: "system:cli", methodName: "SetIamPolicy", resourceName: PROJECT, revision: before + 1n, bindingDeltas: [{ action: "ADD", role: "roles/viewer", member: "group:eng@acme.test" }] });
    // The file's etag is now stale: refused, with a non-zero exit and nothing written.
    const stale = await changesNothing(() => gatehouse("policy", "set", PROJECT, "-f", file).then(() => "", (e: Error) => e.message));
    expect(stale).toMatch(/exited with 1[\s\S]*error: the policy of projects\/p1 has changed since .*project\.yaml was read/);
  });

  it("refuses a malformed file with its position, and an unknown resource", async () => {
    const bad = path.join(tmp, "bad.yaml");
    fs.writeFileSync(bad, "bindings:\n- role: roles/viewer\n  role: roles/owner\n");
    const e1 = await gatehouse("policy", "set", PROJECT, "-f", bad).then(() => "", (e: Error) => e.message);
    expect(e1).toMatch(/bad\.yaml:3:3: /);
    const e2 = await gatehouse("policy", "get", "projects/nope").then(() => "", (e: Error) => e.message);
    expect(e2).toMatch(/projects\/nope does not exist/);
  });
});
