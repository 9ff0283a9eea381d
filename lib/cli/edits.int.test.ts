// The CLI's one-change commands end to end against a real PostgreSQL: `policy add-binding` /
// `remove-binding` (gcloud's add-/remove-iam-policy-binding), `iap enable|disable`, `group
// add-member|remove-member`. Each runs through lib/admin as system:cli and leaves its record; a
// refused change exits 1 and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { cliEnv, lastWord, runCli } from "@/lib/proxytest/gatehouse";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { getIamPolicy } from "@/lib/admin/policies";

const APP = "projects/p1/iap_web/compute/services/app";
const ACCESSOR = "roles/iap.httpsResourceAccessor";
const WORLD = {
  organizations: [{ id: "1", domain: "acme.test" }],
  projects: [{ id: "p1", number: "4242", parent: "organizations/1" }],
  resources: [{ name: APP, iap: false, hosts: ["app.acme.test"] }],
  users: ["owner", "alice", "bob"].map((u) => ({ email: `${u}@acme.test` })),
  groups: [{ email: "eng@acme.test", members: ["user:alice@acme.test"] }],
  policies: [
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    { resource: APP, bindings: [{ role: ACCESSOR, members: ["user:bob@acme.test"] }] },
  ],
};

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(JSON.stringify(WORLD)), { actor: SYSTEM_CLI, catalog: worldCatalog() });
});

afterAll(async () => {
  await t?.drop();
});

const gatehouse = (...args: string[]) => runCli(cliEnv(t.url, { AUTH_SECRET: "test-only-auth-secret-0123456789abcdef" }), args, 120_000);
const refused = (...args: string[]) => gatehouse(...args).then(() => "exited 0", (e: Error) => e.message);
const policy = () => getIamPolicy({ db: t.prisma, actor: SYSTEM_CLI }, APP, { options: { requestedPolicyVersion: 3 } });
const revision = async () => (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value;
const lastRecord = () => t.prisma.adminActivityLog.findFirstOrThrow({ orderBy: { seq: "desc" } });

/** Runs `f`, which must fail, and checks that nothing was written (revision and records unchanged). */
async function writesNothing(f: () => Promise<string>): Promise<string> {
  const before = [await revision(), await t.prisma.adminActivityLog.count()];
  const out = await f();
  expect([await revision(), await t.prisma.adminActivityLog.count()]).toEqual(before);
  return out;
}

// Each test spawns the CLI (tsx compiles it on start) several times: allow for a loaded machine.
describe("CLI: one change at a time", { timeout: 300_000 }, () => {
  it("policy add-binding grants with a condition, once; remove-binding asks which binding when two name the member", async () => {
    const expression = "request.path.startsWith('/docs')";
    const out = await gatehouse("policy", "add-binding", APP, "--member", "user:bob@acme.test", "--role", ACCESSOR, "--condition-title", "Docs only", "--condition-expression", expression);
    expect(out.trim()).toMatch(new RegExp(`^Granted ${ACCESSOR} to user:bob@acme.test on ${APP} at revision \\d+ \\(etag [A-Za-z0-9+/=]+\\)\\.$`));
    expect((await policy()).bindings).toContainEqual({ role: ACCESSOR, members: ["user:bob@acme.test"], condition: { title: "Docs only", expression } });
    expect(await lastRecord()).toMatchObject({ actor: "system:cli", methodName: "SetIamPolicy", bindingDeltas: [{ action: "ADD", role: ACCESSOR, member: "user:bob@acme.test" }] });
    const again = await writesNothing(() => gatehouse("policy", "add-binding", APP, "--member", "user:bob@acme.test", "--role", ACCESSOR, "--condition-title", "Docs only", "--condition-expression", expression));
    expect(again.trim()).toBe(`No changes: the policy of ${APP} already says so.`);

    // bob now holds the role twice (unconditionally and with the condition): which one is asked.
    const ambiguous = await writesNothing(() => refused("policy", "remove-binding", APP, "--member", "user:bob@acme.test", "--role", ACCESSOR));
    expect(ambiguous).toMatch(/exited with 1[\s\S]*in 2 bindings \(no condition, “Docs only”\): say which with --condition-title/);
    await gatehouse("policy", "remove-binding", APP, "--member", "user:bob@acme.test", "--role", ACCESSOR, "--condition-title", "Docs only");
    expect((await policy()).bindings).toEqual([{ role: ACCESSOR, members: ["user:bob@acme.test"] }]);
    expect(await lastRecord()).toMatchObject({ bindingDeltas: [{ action: "REMOVE", role: ACCESSOR, member: "user:bob@acme.test", condition: { title: "Docs only" } }] });
  });

  it("refuses bad input with the reason, writing nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--member", "user:alice@acme.test", "--role", ACCESSOR, "--condition-title", "Broken", "--condition-expression", "request.path.startsWith("], /condition\.expression/],
      [["--member", "user:alice@acme.test", "--role", "roles/no.such.role"], /unknown role roles\/no\.such\.role/],
      [["--member", "alice", "--role", ACCESSOR], /members\[0\]: alice/],
    ];
    for (const [args, reason] of cases) expect(await writesNothing(() => refused("policy", "add-binding", APP, ...args))).toMatch(reason);
    expect(await writesNothing(() => refused("policy", "remove-binding", APP, "--member", "user:alice@acme.test", "--role", ACCESSOR))).toMatch(/user:alice@acme\.test does not hold/);
    expect(await refused("policy", "add-binding", APP, "--member", "user:alice@acme.test", "--role", ACCESSOR, "--condition-title", "No expression")).toMatch(/exited with 2[\s\S]*needs both --condition-title and --condition-expression/);
  });

  it("iap enable creates the OAuth client once and prints its secret last; disable turns it off", async () => {
    const first = await gatehouse("iap", "enable", APP);
    expect(first).toMatch(/^IAP is on for .* \(revision \d+\)\. Its OAuth client is 4242-[0-9a-f]{32}\.apps\.gatehouse\.internal; the secret below is shown only once:/);
    expect(lastWord(first)).toMatch(/^ghcs_[A-Za-z0-9_-]{43}$/);
    expect((await t.prisma.node.findUniqueOrThrow({ where: { name: APP } })).iapEnabled).toBe(true);
    const second = await writesNothing(() => gatehouse("iap", "enable", APP));
    expect(second.trim()).toBe(`IAP is on for ${APP} (it already was).`);
    await gatehouse("iap", "disable", APP);
    expect(await lastRecord()).toMatchObject({ actor: "system:cli", methodName: "DisableIap", resourceName: APP });
    expect(await writesNothing(() => refused("iap", "enable", "projects/p1"))).toMatch(/not an IAP web resource/);
  });

  it("group add-member and remove-member; a cycle is refused", async () => {
    expect((await gatehouse("group", "add-member", "eng@acme.test", "user:bob@acme.test")).trim()).toMatch(/^Added user:bob@acme\.test to eng@acme\.test \(revision \d+\)\.$/);
    expect(await lastRecord()).toMatchObject({ actor: "system:cli", methodName: "CreateMembership", resourceName: "groups/eng@acme.test" });
    expect(await writesNothing(() => refused("group", "add-member", "eng@acme.test", "group:eng@acme.test"))).toMatch(/exited with 1[\s\S]*(cycle|itself)/);
    await gatehouse("group", "remove-member", "eng@acme.test", "user:bob@acme.test");
    const members = await t.prisma.groupMember.findMany({ where: { groupEmail: "eng@acme.test" }, select: { member: true } });
    expect(members.map((m) => m.member)).toEqual(["user:alice@acme.test"]);
  });
});
