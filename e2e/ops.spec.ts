// The console's operations sections: troubleshooter, effective access, proxies, settings, and what
// an auditor (roles/logging.viewer only) may do there. Each test seeds its own resource, users and
// credentials through the CLI and the admin API (bearer ID tokens the CLI signs).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { expect, test, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { gatehouse, lastWord } from "./support/cli";
import { demoCredentials, E2E } from "./support/env";
import { expectAccessible as axe } from "./support/a11y";

const ADMIN = "user:admin@example.com";
const PROJECT_NUMBER = "100200300";

async function tokenFor(principal: string, audience?: string): Promise<string> {
  return lastWord((await gatehouse("token", "--principal", principal, ...(audience ? ["--audience", audience] : []))).stdout);
}

async function api(request: APIRequestContext, token: string, method: "GET" | "POST", path: string, data?: unknown) {
  const res = await request.fetch(`${E2E.directURL}${path}`, { method, headers: { authorization: `Bearer ${token}` }, ...(data !== undefined ? { data } : {}) });
  return { status: res.status(), body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

/** Adds a binding to a policy (read-modify-write with the etag; retried when another test wrote first). */
async function addBinding(request: APIRequestContext, token: string, resource: string, binding: Record<string, unknown>) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const got = await api(request, token, "POST", `/api/v1/${resource}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
    expect(got.status).toBe(200);
    const policy = got.body as { bindings?: unknown[]; etag: string };
    const set = await api(request, token, "POST", `/api/v1/${resource}:setIamPolicy`, { policy: { version: 3, etag: policy.etag, bindings: [...(policy.bindings ?? []), binding] } });
    if (set.status === 200) return;
    expect(set.status).toBe(409);
  }
  throw new Error(`could not update the policy of ${resource}`);
}

/** A web resource of its own, IAP on, whose only grant is IAP access for `member` outside /admin. */
async function seedResource(request: APIRequestContext, id: string, member: string) {
  const admin = await tokenFor(ADMIN);
  const name = `projects/demo/iap_web/compute/services/ops-${id}`;
  const host = `ops-${id}.example.test`;
  expect((await api(request, admin, "POST", "/api/v1/resources", { name, displayName: `Ops ${id}`, hosts: [host] })).status).toBe(201);
  expect((await api(request, admin, "POST", `/api/v1/${name}:enableIap`, {})).status).toBe(200);
  await addBinding(request, admin, name, { role: "roles/iap.httpsResourceAccessor", members: [member], condition: { title: "Not admin", expression: "!request.path.startsWith('/admin')" } });
  return { name, host, admin };
}

/** Signs in through the form; a sign-in hashes with scrypt, slow on a loaded machine. */
async function signIn(page: Page, email: string, password: string) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: /^sign in$/i }).click();
  await expect(page).not.toHaveURL(/\/signin$/, { timeout: 60_000 });
}

// The demo admin signs in once per worker; its tests reuse the session (each sign-in costs an scrypt hash).
let adminState: Promise<string> | null = null;
async function adminPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<Page> {
  adminState ??= (async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, demoCredentials().email, demoCredentials().password);
    const path = test.info().outputPath("admin-session.json");
    await context.storageState({ path });
    await context.close();
    return path;
  })();
  const context = await browser.newContext({ storageState: await adminState, viewport });
  return context.newPage();
}

const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/screenshots/${name}.png`, fullPage: true });

test("the troubleshooter shows a denied request's failing condition; forward-auth's 403 links only admins to it", async ({ browser, request }) => {
  test.setTimeout(420_000);
  const id = randomBytes(3).toString("hex");
  const user = `ops-user-${id}@example.com`;
  // The CLI calls run side by side (each starts a TypeScript process).
  const audience = `/projects/${PROJECT_NUMBER}/global/backendServices/ops-${id}`;
  const [r, proxyKey, userToken, adminToken] = await Promise.all([
    seedResource(request, id, `user:${user}`),
    gatehouse("proxy-key", "create", "--name", `ops-fa-${id}`).then((o) => lastWord(o.stdout)),
    tokenFor(`user:${user}`, audience),
    tokenFor(ADMIN, audience),
  ]);
  const page = await adminPage(browser, { width: 960, height: 900 });

  // Asked through the form: every field lands in the URL (a shareable question).
  await page.goto("/troubleshooter");
  await page.getByLabel("Principal").fill(user);
  await page.getByLabel("Host").fill(r.host);
  await page.getByLabel("Path").fill("/admin/users");
  await page.getByLabel("Method").selectOption("POST");
  await page.getByRole("button", { name: "Troubleshoot" }).click();
  await expect(page).toHaveURL(/principal=ops-user-.*host=ops-.*path=%2Fadmin%2Fusers/);
  await expect(page.locator("#ts-reason")).toHaveText("CONDITION_NOT_MET");
  await expect(page.getByText("Denied", { exact: true })).toBeVisible();
  const failing = page.locator('[data-result="CONDITION_FALSE"]');
  await expect(failing).toContainText("Not admin");
  await expect(failing).toContainText("!request.path.startsWith('/admin')");
  await expect(failing).toContainText(`user:${user}`);
  await expect(page.getByText("(mapped from the host)")).toBeVisible();
  await axe(page, "troubleshooter");
  await shot(page, "troubleshooter-denied");

  // The same link, opened again, answers the same; another path is granted.
  await page.goto(page.url().replace("%2Fadmin%2Fusers", "%2Fhome"));
  await expect(page.locator("#ts-reason")).toHaveText("GRANTED");
  await expect(page.locator('[data-result="GRANTED"]')).toBeVisible();

  // A malformed question: the error stands next to its field.
  await page.goto(`/troubleshooter?principal=${encodeURIComponent(user)}&resource=${encodeURIComponent(r.name)}&ip=999.1.1.1`);
  await expect(page.getByText("An IPv4 or IPv6 address")).toBeVisible();
  await expect(page.getByLabel("Client IP")).toHaveAttribute("aria-invalid", "true");

  // Forward-auth: the denied user sees no reason and no link; an admin is linked with the request filled in.
  const forward = async (token: string) =>
    request.get(`${E2E.directURL}/api/v1/forward-auth`, {
      headers: {
        "x-gatehouse-proxy-key": proxyKey,
        authorization: `Bearer ${token}`,
        "x-forwarded-host": r.host,
        "x-forwarded-uri": "/admin/x",
        "x-forwarded-method": "GET",
        "x-forwarded-proto": "https",
        accept: "text/html",
      },
      maxRedirects: 0,
    });
  const denied = await forward(userToken);
  expect(denied.status()).toBe(403);
  const deniedPage = await denied.text();
  expect(deniedPage).toContain("You do not have access");
  expect(deniedPage).not.toContain("CONDITION_NOT_MET");
  expect(deniedPage).not.toContain("troubleshooter");
  expect(denied.headers()["x-gatehouse-troubleshoot-url"]).toBeUndefined();

  const asAdmin = await forward(adminToken);
  expect(asAdmin.status()).toBe(403);
  const link = asAdmin.headers()["x-gatehouse-troubleshoot-url"]!;
  expect(link).toContain(`${E2E.baseURL}/troubleshooter?`);
  expect(await asAdmin.text()).toContain("Troubleshoot this request");
  await page.goto(link);
  await expect(page.locator("#ts-reason")).toHaveText("NO_MATCHING_BINDING");
  await expect(page.getByLabel("Path")).toHaveValue("/admin/x");
});

test("effective access lists who can reach a resource with the reason, and its CSV downloads and parses", async ({ browser, request }) => {
  test.setTimeout(420_000);
  const id = randomBytes(3).toString("hex");
  const user = `ops-ea-${id}@example.com`;
  const r = await seedResource(request, id, `user:${user}`);
  const page = await adminPage(browser);
  await page.goto("/effective-access");
  await page.getByRole("combobox", { name: "Resource" }).fill(r.name);
  await page.getByRole("button", { name: "Show who" }).click();
  const row = page.getByRole("row").filter({ hasText: `user:${user}` });
  await expect(row).toContainText("Conditional");
  await expect(row).toContainText("roles/iap.httpsResourceAccessor");
  await expect(row).toContainText("Not admin");
  await axe(page, "effective access");
  await shot(page, "effective-access-resource");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
  const records = parseCsv(fs.readFileSync((await download.path())!, "utf8"), { columns: true }) as Array<Record<string, string>>;
  expect(records.find((x) => x.principal === `user:${user}`)).toMatchObject({ resource: r.name, access: "CONDITIONAL", role: "roles/iap.httpsResourceAccessor", granted_on: r.name, member: `user:${user}`, condition: "Not admin" });

  await page.getByRole("textbox", { name: "Principal" }).fill(`user:${user}`);
  await page.getByRole("button", { name: "Show what" }).click();
  await expect(page.getByRole("row").filter({ hasText: r.name })).toContainText("Conditional");
  await shot(page, "effective-access-principal");
});

test("a proxy credential is created (secret shown once), works, and is revoked after confirmation", async ({ browser, request }) => {
  test.setTimeout(420_000);
  const name = `ops-pk-${randomBytes(3).toString("hex")}`;
  const page = await adminPage(browser, { width: 960, height: 900 });
  await page.goto("/proxies");
  await page.getByRole("button", { name: "Create credential" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("bad name!");
  await dialog.getByRole("button", { name: "Create" }).click();
  await expect(dialog.getByText(/a proxy key name is 1–63/)).toBeVisible();
  await axe(page, "create proxy credential dialog");
  await shot(page, "proxies-create-dialog");
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByLabel("Scopes").fill("projects/demo");
  await dialog.getByLabel("Region header").fill("cf-ipcountry");
  await dialog.getByRole("button", { name: "Create" }).click();
  const secret = (await dialog.locator("#proxy-secret").textContent())!.trim();
  expect(secret).toMatch(/^ghpk_/);
  await axe(page, "proxy secret dialog");
  await shot(page, "proxies-secret");
  await dialog.getByRole("button", { name: "Done" }).click();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Active");
  await expect(row).toContainText("projects/demo");
  await expect(row).toContainText("cf-ipcountry");
  await expect(page.getByText(secret)).toHaveCount(0);

  const decide = () => request.post(`${E2E.directURL}/api/v1/decisions`, { headers: { authorization: `Bearer ${secret}` }, data: { resource: "projects/demo/iap_web/compute/services/web" } });
  expect((await decide()).status()).toBe(200);

  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  await expect(page.getByRole("dialog")).toContainText("stops accepting this credential");
  await axe(page, "revoke confirmation");
  await shot(page, "proxies-revoke-confirm");
  await page.getByRole("dialog").getByRole("button", { name: "Revoke credential" }).click();
  await expect(row).toContainText("Revoked");
  await expect(row.getByRole("button", { name: /revoke/i })).toHaveCount(0);
  await expect.poll(async () => (await decide()).status()).toBe(401);
  await axe(page, "proxies");
  await shot(page, "proxies");
});

test("settings: signing keys rotate after confirmation, trusted issuers are added, edited and deleted, OAuth clients listed", async ({ browser, request }) => {
  test.setTimeout(420_000);
  const id = randomBytes(3).toString("hex");
  const issuer = `https://idp-${id}.example.com`;
  const r = await seedResource(request, id, `user:ops-settings-${id}@example.com`);
  const page = await adminPage(browser);
  await page.goto("/settings");
  await expect(page.getByRole("table", { name: "Signing keys" })).toBeVisible();
  // IAP turned on through the API created its OAuth client: listed by id, never with its secret.
  const client = page.getByRole("table", { name: "OAuth clients" }).getByRole("row").filter({ hasText: r.name });
  await expect(client).toContainText(".apps.gatehouse.internal");
  await expect(client).not.toContainText("ghcs_");

  await page.getByRole("button", { name: "Add issuer" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Issuer").fill("http://not-loopback.example.com");
  await dialog.getByLabel("Audiences").fill("gatehouse");
  await dialog.getByLabel("Email domains").fill("example.com");
  await dialog.getByRole("button", { name: "Add issuer" }).click();
  await expect(dialog.getByLabel("Issuer")).toHaveAttribute("aria-invalid", "true");
  await axe(page, "issuer dialog");
  await shot(page, "settings-issuer-dialog");
  await dialog.getByLabel("Issuer").fill(issuer);
  await dialog.getByRole("button", { name: "Add issuer" }).click();
  const row = page.getByRole("row").filter({ hasText: issuer });
  await expect(row).toContainText("example.com");

  await row.getByRole("button", { name: `Edit ${issuer}` }).click();
  await page.getByRole("dialog").getByLabel("Email domains").fill("example.com\nexample.org");
  await page.getByRole("dialog").getByRole("button", { name: "Save" }).click();
  await expect(row).toContainText("example.org");

  await row.getByRole("button", { name: `Delete ${issuer}` }).click();
  await axe(page, "delete issuer confirmation");
  await page.getByRole("dialog").getByRole("button", { name: "Delete issuer" }).click();
  await expect(page.getByRole("row").filter({ hasText: issuer })).toHaveCount(0);

  await page.getByRole("button", { name: "Rotate keys" }).click();
  await expect(page.getByRole("dialog")).toContainText("starts signing once every verifier");
  await axe(page, "rotate confirmation");
  await shot(page, "settings-rotate-confirm");
  await page.getByRole("dialog").getByRole("button", { name: "Start rotation" }).click();
  await expect(page.getByText(/Rotation started|already under way/)).toBeVisible();
  await expect(page.getByRole("table", { name: "Signing keys" })).toContainText("Next");
  await axe(page, "settings");
  await shot(page, "settings");
});

test("an auditor (roles/logging.viewer) gets into the console, reads the admin-activity logs and read-only pages with no edit controls, and a direct POST of an edit is refused", async ({ page, browser, request }) => {
  test.setTimeout(420_000);
  const id = randomBytes(3).toString("hex");
  const email = `ops-auditor-${id}@example.com`;
  const oneTime = lastWord((await gatehouse("user", "create", "--email", email)).stdout);
  const admin = await tokenFor(ADMIN);
  await addBinding(request, admin, "organizations/1234", { role: "roles/logging.viewer", members: [`user:${email}`] });

  // The admin creates a credential through the console: the server action's request, captured,
  // is what the auditor replays.
  const admin$ = await adminPage(browser);
  await admin$.goto("/proxies");
  await admin$.getByRole("button", { name: "Create credential" }).click();
  const adminName = `ops-cap-${id}`;
  await admin$.getByRole("dialog").getByLabel("Name").fill(adminName);
  const [action] = await Promise.all([
    admin$.waitForRequest((req) => req.method() === "POST" && Boolean(req.headers()["next-action"])),
    admin$.getByRole("dialog").getByRole("button", { name: "Create" }).click(),
  ]);
  await expect(admin$.locator("#proxy-secret")).toBeVisible();
  const captured = { id: action.headers()["next-action"]!, contentType: action.headers()["content-type"]!, body: action.postData()!, routerState: action.headers()["next-router-state-tree"] };
  expect(captured.body).toContain(adminName);
  await admin$.context().close();

  // The auditor signs in (choosing a password first) and gets into the console.
  await signIn(page, email, oneTime);
  const chosen = `auditor-${randomBytes(6).toString("hex")}`;
  await page.getByLabel("New password", { exact: true }).fill(chosen);
  await page.getByLabel("Repeat the new password").fill(chosen);
  await page.getByRole("button", { name: /set password and continue/i }).click();
  await expect(page).toHaveURL(/\/iap$/, { timeout: 60_000 });
  await expect(page.getByText("You don't have access to this console yet")).toHaveCount(0);

  // The logs: the admin-activity stream (Logs Viewer), with the binding that made them an auditor,
  // on the page and through the Audit API; the data-access stream needs Private Logs Viewer.
  await page.goto("/audit");
  await expect(page.getByRole("heading", { name: "Audit logs", level: 1 })).toBeVisible();
  await expect(page.getByRole("table", { name: /admin-activity entries/i }).getByRole("row").nth(1)).toBeVisible();
  const logs = await page.evaluate(async () => {
    const r = await fetch("/api/v1/auditLogs?stream=admin_activity&method=SetIamPolicy&pageSize=1000");
    return { status: r.status, body: (await r.json()) as { entries?: unknown[] } };
  });
  expect(logs.status).toBe(200);
  expect(logs.body.entries?.length).toBeGreaterThan(0);
  expect(JSON.stringify(logs.body.entries)).toContain(email);
  expect(await page.evaluate(async () => (await fetch("/api/v1/auditLogs?stream=data_access")).status)).toBe(403);

  // Read-only pages, no edit controls.
  await page.goto("/proxies");
  await expect(page.getByText("You may not view proxy credentials")).toBeVisible();
  await expect(page.getByRole("button", { name: /create|revoke/i })).toHaveCount(0);
  await axe(page, "proxies (auditor)");
  await shot(page, "auditor-proxies");
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expect(page.getByRole("button", { name: /rotate|add issuer|edit|delete/i })).toHaveCount(0);
  await axe(page, "settings (auditor)");
  await shot(page, "auditor-settings");
  await page.goto(`/troubleshooter?principal=${encodeURIComponent("user:alice@example.com")}&resource=${encodeURIComponent("projects/demo/iap_web/compute/services/web")}`);
  await expect(page.getByText("You may not troubleshoot this resource")).toBeVisible();
  await page.goto(`/effective-access?resource=${encodeURIComponent("projects/demo/iap_web/compute/services/web")}`);
  await expect(page.getByText("You may not see this resource’s access")).toBeVisible();
  // Its CSV export: refused to the auditor (403) and to a caller without a session (401).
  const csv = await page.evaluate(async (q) => (await fetch(`/effective-access/export?resource=${q}`)).status, encodeURIComponent("projects/demo/iap_web/compute/services/web"));
  expect(csv).toBe(403);
  expect((await request.get(`${E2E.directURL}/effective-access/export?resource=projects%2Fdemo`)).status()).toBe(401);

  // A direct POST of the captured action (same Origin, the auditor's session) is refused; nothing is created.
  const forged = `ops-forged-${id}`;
  const reply = await page.evaluate(
    async ({ c, from, to }) => {
      const res = await fetch("/proxies", {
        method: "POST",
        headers: { "next-action": c.id, "content-type": c.contentType, accept: "text/x-component", ...(c.routerState ? { "next-router-state-tree": c.routerState } : {}) },
        body: c.body.split(from).join(to),
      });
      return { status: res.status, text: await res.text() };
    },
    { c: captured, from: adminName, to: forged },
  );
  expect(reply.text).toContain("PERMISSION_DENIED");
  expect(reply.text).not.toContain("ghpk_");
  // The admin API, with the auditor's session and the console's Origin: 403.
  const viaApi = await page.evaluate(async (name) => (await fetch("/api/v1/proxyKeys", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) })).status, `${forged}-api`);
  expect(viaApi).toBe(403);
  const keys = (await api(request, admin, "GET", "/api/v1/proxyKeys?pageSize=1000")).body as { proxyKeys: Array<{ name: string }> };
  expect(keys.proxyKeys.map((k) => k.name)).toContain(adminName);
  expect(keys.proxyKeys.map((k) => k.name).filter((n) => n.startsWith(forged))).toEqual([]);
});
