// The IAP panel in a real Chromium against the production build: turn IAP on for a resource; grant
// a group access under a path condition and watch the decision API (what proxies ask) flip for a
// member; remove it; edit one policy from two tabs (the second sees the conflict, not an
// overwrite); an SSO admin and a read-only viewer; a direct POST of the add action by someone
// without the permission, or from another origin, changes nothing. Axe on the page with each
// dialog open; screenshots in e2e/screenshots/. Each test seeds its own project through the admin API.
import { expect, test, type Page } from "@playwright/test";
import { gatehouse, lastWord } from "./support/cli";
import { E2E } from "./support/env";
import { expectAccessible as axe } from "./support/a11y";
import { signInAsDemoAdmin } from "./support/session";

const ACCESSOR = "roles/iap.httpsResourceAccessor";
const ADMIN = "admin@example.com";
const SHOTS = "e2e/screenshots";

interface Seeded {
  uid: string;
  app: string;
  host: string;
  member: string;
  group: string;
}

let adminToken: string;
let proxyKey: string;

async function api(method: string, path: string, body?: unknown, token = adminToken) {
  const res = await fetch(`${E2E.directURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A project of its own with one web service (IAP off), a user and a group holding that user. */
async function seed(): Promise<Seeded> {
  const uid = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const project = `iap-${uid}`;
  const app = `projects/${project}/iap_web/compute/services/app`;
  const host = `app-${uid}.example.test`;
  const member = `m-${uid}@example.com`;
  const group = `team-${uid}@example.com`;
  for (const [path, body] of [
    ["/api/v1/projects", { id: project, parent: "organizations/1234", displayName: `IAP ${uid}` }],
    ["/api/v1/resources", { name: app, displayName: `App ${uid}`, hosts: [host] }],
    ["/api/v1/users", { email: member, displayName: `Member ${uid}`, consoleAccount: false }],
    ["/api/v1/groups", { email: group, displayName: `Team ${uid}`, members: [`user:${member}`] }],
  ] as const) {
    const r = await api("POST", path, body);
    expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(201);
  }
  return { uid, app, host, member, group };
}

async function decide(s: Seeded, path: string) {
  const res = await fetch(`${E2E.directURL}/api/v1/decisions`, {
    method: "POST",
    headers: { authorization: `Bearer ${proxyKey}`, "content-type": "application/json" },
    body: JSON.stringify({ principal: `user:${s.member}`, resource: s.app, request: { method: "GET", host: s.host, path } }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { allowed: boolean; reason: string; grantedBy?: { condition?: string; member: string } };
}

/** POSTs a server action as the browser would, with this page's session, from `origin`. */
async function postAction(page: Page, id: string, body: string, origin = E2E.baseURL) {
  const cookie = (await page.context().cookies(E2E.baseURL)).map((c) => `${c.name}=${c.value}`).join("; ");
  const res = await page.request.post(`${E2E.directURL}/iap`, {
    headers: { host: new URL(E2E.baseURL).host, cookie, origin, "next-action": id, "content-type": "text/plain;charset=UTF-8", accept: "text/x-component" },
    data: body,
  });
  return { status: res.status(), text: await res.text() };
}

async function openPanel(page: Page, s: Seeded) {
  await page.goto("/iap");
  await page.getByLabel("Filter resources by name or host").fill(s.uid);
  await page.getByRole("button", { name: `App ${s.uid}` }).click();
  await expect(page).toHaveURL(new RegExp(`resource=${encodeURIComponent(s.app).replace(/%2F/g, "(%2F|/)")}`));
  await expect(page.getByRole("heading", { name: `App ${s.uid}` })).toBeVisible();
}

test.beforeAll(async () => {
  // Two CLI runs (each compiles on start) on cores shared with the server and the other worker.
  test.setTimeout(120_000);
  const env = { ...process.env };
  process.env.GATEHOUSE_PUBLIC_URL = E2E.baseURL;
  try {
    const [token, key] = await Promise.all([
      gatehouse("token", "--principal", `user:${ADMIN}`),
      gatehouse("proxy-key", "create", "--name", `iap-spec-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`, "--trusted"),
    ]);
    adminToken = lastWord(token.stdout);
    proxyKey = lastWord(key.stdout);
  } finally {
    process.env.GATEHOUSE_PUBLIC_URL = env.GATEHOUSE_PUBLIC_URL;
  }
});

test("an admin turns IAP on, grants a group access under a path condition, the decision API follows, and removes it", async ({ page }) => {
  test.setTimeout(240_000);
  const s = await seed();
  await page.setViewportSize({ width: 1440, height: 900 });
  await signInAsDemoAdmin(page);
  await openPanel(page, s);
  expect((await decide(s, "/docs/a")).reason).toBe("IAP_DISABLED");

  // IAP on: the OAuth client's secret is shown once.
  await page.getByRole("switch", { name: `IAP for App ${s.uid}` }).click();
  const secret = page.getByRole("dialog", { name: /copy the oauth client secret/i });
  await expect(secret).toBeVisible();
  await expect(secret.getByLabel("Client secret")).toHaveValue(/^ghcs_/);
  await axe(page, "the OAuth secret dialog");
  await page.screenshot({ path: `${SHOTS}/iap-oauth-secret.png` });
  await secret.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("switch", { name: `IAP for App ${s.uid}` })).toHaveAttribute("aria-checked", "true");
  await expect.poll(async () => (await decide(s, "/docs/a")).reason).toBe("NO_MATCHING_BINDING");

  // Add the group, only under /docs.
  await page.getByRole("button", { name: "Add principal" }).click();
  const dialog = page.getByRole("dialog", { name: "Add principals" });
  await dialog.getByRole("combobox", { name: "New principals" }).fill(`team-${s.uid}`);
  await dialog.getByRole("option", { name: new RegExp(`group:team-${s.uid}`) }).click();
  await expect(dialog.getByRole("list", { name: "Principals to add" })).toContainText(`group:${s.group}`);
  await expect(dialog.getByLabel("Role")).toHaveValue(ACCESSOR);
  await dialog.getByLabel("Only when…").check();
  await dialog.getByLabel("Path starts with").fill("/docs");
  await expect(dialog.getByText("Valid condition.")).toBeVisible();
  await expect(dialog.getByLabel("Condition title")).toHaveValue("Path /docs");
  await axe(page, "the add-principal dialog");
  await page.screenshot({ path: `${SHOTS}/iap-add-principal.png` });
  // Raw CEL: an error shows where it is.
  await dialog.getByLabel("CEL expression").check();
  await dialog.getByLabel("Expression", { exact: true }).fill('request.path.startsWith("/docs") &&');
  await expect(dialog.getByText(/^Line 1, column \d+:/)).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/iap-add-principal-cel-error.png` });
  await dialog.getByLabel("Only when…").check();
  await expect(dialog.getByText("Valid condition.")).toBeVisible();
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: `group:${s.group} now holds IAP-secured Web App User` })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: `group:${s.group}` });
  await expect(row).toContainText("Path /docs");
  await expect(row).not.toContainText("inherited");

  // What the proxy hears now: /docs through the group, /admin not.
  await expect.poll(async () => (await decide(s, "/docs/a")).allowed).toBe(true);
  const granted = await decide(s, "/docs/a");
  expect(granted.grantedBy).toMatchObject({ member: `group:${s.group}`, condition: "Path /docs" });
  expect((await decide(s, "/admin")).reason).toBe("CONDITION_NOT_MET");
  // Inherited grants are listed with where they come from.
  await expect(page.getByRole("row").filter({ hasText: "user:admin@example.com" }).first()).toContainText("inherited from organizations/1234");
  await page.getByLabel("Filter principals").fill(`team-${s.uid}`);
  await expect(page.getByText("1 of")).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/iap-panel.png`, fullPage: true });
  await page.getByLabel("Filter principals").fill("");

  // Remove it, after confirming.
  await row.getByRole("button", { name: /^Remove group:/ }).click();
  const confirm = page.getByRole("dialog", { name: "Remove principal?" });
  await expect(confirm).toContainText(`group:${s.group}`);
  await axe(page, "the remove confirmation");
  await page.screenshot({ path: `${SHOTS}/iap-remove-confirm.png` });
  await confirm.getByRole("button", { name: "Remove" }).click();
  await expect(confirm).toBeHidden();
  await expect(page.getByRole("row").filter({ hasText: `group:${s.group}` })).toHaveCount(0);
  await expect.poll(async () => (await decide(s, "/docs/a")).allowed).toBe(false);

  // IAP off: the confirmation says what that means.
  await page.getByRole("switch", { name: `IAP for App ${s.uid}` }).click();
  const off = page.getByRole("dialog", { name: "Turn off IAP?" });
  await expect(off).toContainText("no longer be protected");
  await axe(page, "the IAP-off confirmation");
  await page.screenshot({ path: `${SHOTS}/iap-off-confirm.png` });
  await off.getByRole("button", { name: "Turn off IAP" }).click();
  await expect(off).toBeHidden();
  await expect.poll(async () => (await decide(s, "/docs/a")).reason).toBe("IAP_DISABLED");
});

test("two tabs edit one policy: the second sees the other change and reloads, nothing is overwritten", async ({ page, context }) => {
  test.setTimeout(180_000);
  const s = await seed();
  await page.setViewportSize({ width: 960, height: 900 });
  await signInAsDemoAdmin(page);
  await openPanel(page, s);
  const second = await context.newPage();
  await second.setViewportSize({ width: 960, height: 900 });
  await second.goto(page.url());
  await expect(second.getByRole("heading", { name: `App ${s.uid}` })).toBeVisible();

  const add = async (p: Page, who: string) => {
    await p.getByRole("button", { name: "Add principal" }).click();
    const d = p.getByRole("dialog", { name: "Add principals" });
    await d.getByRole("combobox", { name: "New principals" }).fill(who);
    await d.getByRole("combobox", { name: "New principals" }).press("Enter");
    await expect(d.getByRole("list", { name: "Principals to add" })).toContainText(`user:${who}`);
    await d.getByRole("button", { name: "Save" }).click();
    return d;
  };
  await add(page, s.member);
  await expect(page.getByRole("row").filter({ hasText: `user:${s.member}` })).toBeVisible();

  const d = await add(second, `late-${s.uid}@example.com`);
  await expect(d).toBeHidden();
  const conflict = second.getByText("Someone else changed this policy since you opened it");
  await expect(conflict).toBeVisible();
  await expect(second.getByText(`+ ${ACCESSOR} user:${s.member}`)).toBeVisible();
  await second.screenshot({ path: `${SHOTS}/iap-conflict.png`, fullPage: true });
  const policy = await api("POST", `/api/v1/${s.app}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  expect(policy.body.bindings).toEqual([{ role: ACCESSOR, members: [`user:${s.member}`] }]);

  await second.getByRole("button", { name: "Reload the policy" }).click();
  await expect(conflict).toBeHidden();
  await expect(second.getByRole("row").filter({ hasText: `user:${s.member}` })).toBeVisible();
  await add(second, `late-${s.uid}@example.com`);
  await expect(second.getByRole("row").filter({ hasText: `user:late-${s.uid}@example.com` })).toBeVisible();
  const after = await api("POST", `/api/v1/${s.app}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  expect(after.body.bindings).toEqual([{ role: ACCESSOR, members: [`user:${s.member}`, `user:late-${s.uid}@example.com`] }]);
});

test("an SSO admin edits; a read-only viewer sees no edit controls, and the add action POSTed directly by them or from another origin changes nothing", async ({ browser }) => {
  test.setTimeout(240_000);
  const s = await seed();
  const ssoAdmin = `iapadmin-${s.uid}@example.com`;
  const viewer = `viewer-${s.uid}@example.com`;
  const project = s.app.split("/iap_web")[0]!;
  const p = await api("POST", `/api/v1/${project}:getIamPolicy`, {});
  const set = await api("POST", `/api/v1/${project}:setIamPolicy`, { policy: { etag: p.body.etag, bindings: [...(p.body.bindings ?? []), { role: "roles/iap.admin", members: [`user:${ssoAdmin}`] }, { role: "roles/viewer", members: [`user:${viewer}`] }] } });
  expect(set.status, JSON.stringify(set.body)).toBe(200);

  const sso = async (login: string) => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto("/signin");
    await page.getByRole("button", { name: /test sso/i }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill("anything");
    await page.locator('button[type="submit"]').click();
    await page.getByRole("button", { name: /continue/i }).click();
    await expect(page).toHaveURL(/\/iap$/, { timeout: 60_000 });
    return page;
  };

  // The SSO admin (IAP Policy Admin on the project) grants; the add action's id is taken from that request.
  const admin = await sso(ssoAdmin);
  await openPanel(admin, s);
  let action: { id: string; body: string } | null = null;
  admin.on("request", (r) => {
    const id = r.headers()["next-action"];
    if (id && r.postData()?.includes('"targets"')) action = { id, body: r.postData()! };
  });
  await admin.getByRole("button", { name: "Add principal" }).click();
  const d = admin.getByRole("dialog", { name: "Add principals" });
  await d.getByRole("combobox", { name: "New principals" }).fill(`group:${s.group}`);
  await d.getByRole("combobox", { name: "New principals" }).press("Enter");
  await d.getByRole("button", { name: "Save" }).click();
  await expect(admin.getByRole("row").filter({ hasText: `group:${s.group}` })).toBeVisible();
  expect(action).not.toBeNull();
  const { id, body } = action!;

  // A Viewer of the project reads the panel, without edit controls.
  const reader = await sso(viewer);
  await openPanel(reader, s);
  await expect(reader.getByRole("row").filter({ hasText: `group:${s.group}` })).toBeVisible();
  await expect(reader.getByText(/read-only/i)).toBeVisible();
  await expect(reader.getByRole("button", { name: "Add principal" })).toHaveCount(0);
  await expect(reader.getByRole("button", { name: /^Remove / })).toHaveCount(0);
  await expect(reader.getByRole("switch")).toHaveCount(0);
  await axe(reader, "the read-only panel");
  await reader.screenshot({ path: `${SHOTS}/iap-read-only.png`, fullPage: true });

  const before = await api("POST", `/api/v1/${s.app}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  // The same action, replayed with the viewer's session (and a fresh etag so only authorisation can stop it).
  const forged = body.replace(/"etag":"[^"]*"/, `"etag":"${before.body.etag}"`).replace(`group:${s.group}`, `user:${viewer}`);
  const replay = await postAction(reader, id, forged);
  expect(replay.text).toContain("PERMISSION_DENIED");
  // From another origin, even with the admin's own session: refused before the action runs.
  const csrf = await postAction(admin, id, forged, "http://evil.example.test");
  expect(csrf.text).not.toContain('"ok":true');
  const after = await api("POST", `/api/v1/${s.app}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  expect(after.body).toEqual(before.body);
  // The very same request from the console's origin with the admin's session does go through:
  // it was the permission, and then the origin, that stopped the two above.
  const own = await postAction(admin, id, forged);
  expect(own.text).toContain('"ok":true');
  const granted = await api("POST", `/api/v1/${s.app}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  expect(granted.body.bindings[0].members).toContain(`user:${viewer}`);
  await admin.context().close();
  await reader.context().close();
});
