// The console's identity sections (groups, principals, roles, access levels) against the
// production build. Each test seeds its own data through the admin API (a bearer ID token of the
// demo admin, printed by the CLI) with unique names, so tests run in parallel and leave the demo
// world alone. Every page and dialog is checked with axe and screenshotted.
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { gatehouse, lastWord } from "./support/cli";
import { demoCredentials, E2E } from "./support/env";
import { expectAccessible as axe } from "./support/a11y";
import { signInAsDemoAdmin } from "./support/session";

const shots = "e2e/screenshots/identity";
const uid = () => randomBytes(4).toString("hex");

// The CLI signs tokens for the server's public URL (its issuer).
process.env.GATEHOUSE_PUBLIC_URL = E2E.baseURL;
test.describe.configure({ timeout: 300_000 });

let token: Promise<string> | undefined;
/** The demo admin's ID token (one CLI run per worker). */
function adminToken(): Promise<string> {
  // Once more on failure: on a loaded machine the CLI's first transaction can time out.
  const mint = () => gatehouse("token", "--principal", `user:${demoCredentials().email}`).then((r) => lastWord(r.stdout));
  token ??= mint().catch(mint);
  return token;
}

async function api(request: APIRequestContext, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request.fetch(`${E2E.directURL}${path}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken()}`, "content-type": "application/json" },
    ...(body !== undefined ? { data: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status(), json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function ok(request: APIRequestContext, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await api(request, method, path, body);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBeLessThan(300);
  return r.json;
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

/** Adds `member` to `role` on `resource`, read-modify-write with the etag (retried when another test wrote meanwhile). */
async function grant(request: APIRequestContext, resource: string, role: string, member: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const policy = await ok(request, "POST", `/api/v1/${resource}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
    const bindings = ((policy.bindings as Array<{ role: string; members: string[]; condition?: unknown }>) ?? []).map((b) => ({ ...b }));
    const b = bindings.find((x) => x.role === role && !x.condition);
    if (b) b.members = [...b.members, member];
    else bindings.push({ role, members: [member] });
    const r = await api(request, "POST", `/api/v1/${resource}:setIamPolicy`, { policy: { version: 3, bindings, etag: policy.etag } });
    if (r.status === 409) continue;
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return;
  }
  throw new Error(`could not grant ${role} on ${resource}`);
}

const principalPage = (member: string) => `/principals/${encodeURIComponent(member)}`;

test("groups: adding and removing a member changes what it can reach; a nesting cycle is refused next to the field", async ({ page, request }) => {
  const id = uid();
  const group = `team-${id}@example.com`;
  const outer = `outer-${id}@example.com`;
  const user = `member-${id}@example.com`;
  const service = `projects/demo/locations/europe-west1/services/svc-${id}`;
  await ok(request, "POST", "/api/v1/users", { email: user, consoleAccount: false });
  await ok(request, "POST", "/api/v1/groups", { email: group, displayName: `Team ${id}` });
  await ok(request, "POST", "/api/v1/groups", { email: outer, members: [`group:${group}`] });
  await ok(request, "POST", "/api/v1/resources", { name: service, displayName: `Service ${id}` });
  await grant(request, service, "roles/run.invoker", `group:${group}`);

  await signInAsDemoAdmin(page);
  await page.goto(principalPage(`user:${user}`));
  // Every example.com user reaches the demo wiki (domain:example.com); not the new service yet.
  await expect(page.getByRole("table", { name: "Can reach" })).toContainText("projects/demo/iap_web/compute/services/wiki");
  await expect(page.getByRole("table", { name: "Can reach" })).not.toContainText(service);

  await page.goto("/groups");
  await page.getByLabel("Filter groups by email").fill(id);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("link", { name: group })).toBeVisible();
  await axe(page);
  await shot(page, "groups");
  await page.getByRole("link", { name: group }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Team ${id}` })).toBeVisible();

  await page.getByLabel("Member to add").fill(`user:${user}`);
  await page.getByRole("button", { name: "Add member" }).click();
  const members = page.getByRole("table", { name: "Direct members" });
  await expect(members.getByRole("link", { name: `user:${user}` })).toBeVisible();

  // group:outer contains this group: nesting it here would close a cycle.
  await page.getByLabel("Member to add").fill(`group:${outer}`);
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /cycle/i })).toBeVisible();
  await expect(page.getByLabel("Member to add")).toHaveAttribute("aria-invalid", "true");
  await axe(page);
  await shot(page, "group-members");

  await page.getByRole("link", { name: /Effective members/ }).click();
  await expect(page.getByRole("table", { name: "Effective members" }).getByText(`user:${user}`)).toBeVisible();
  await shot(page, "group-effective");
  await page.getByRole("link", { name: /Roles held/ }).click();
  await expect(page.getByRole("table", { name: "Roles held" })).toContainText(service);
  await shot(page, "group-roles");

  // The member now reaches the service, through the group.
  await page.goto(principalPage(`user:${user}`));
  const reach = page.getByRole("table", { name: "Can reach" });
  await expect(reach).toContainText(service);
  await expect(reach.getByRole("link", { name: `group:${group}` }).first()).toBeVisible();
  await expect(page.getByRole("link", { name: "Full effective access" })).toHaveAttribute("href", `/effective-access?principal=${encodeURIComponent(`user:${user}`)}`);
  await axe(page);
  await shot(page, "principal-user");

  await page.goto(`/groups/${encodeURIComponent(group)}`);
  await page.getByRole("button", { name: `Remove user:${user}` }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText(`loses every role it holds through ${group}`);
  await axe(page);
  await shot(page, "group-remove-member-dialog");
  await dialog.getByRole("button", { name: "Remove member" }).click();
  await expect(members.getByRole("link", { name: `user:${user}` })).toHaveCount(0);

  await page.goto(principalPage(`user:${user}`));
  await expect(page.getByRole("table", { name: "Can reach" })).toContainText("services/wiki");
  await expect(page.getByRole("table", { name: "Can reach" })).not.toContainText(service);

  // Deleting the group explains deleted: members, then goes back to the list.
  await page.goto(`/groups/${encodeURIComponent(group)}`);
  await page.getByRole("button", { name: "Delete group" }).click();
  await expect(page.getByRole("dialog")).toContainText(`deleted:group:${group}?uid=`);
  await axe(page);
  await shot(page, "group-delete-dialog");
  await page.getByRole("dialog").getByRole("button", { name: "Delete group" }).click();
  await expect(page).toHaveURL(/\/groups$/);
  expect((await api(request, "GET", `/api/v1/groups/${group}`)).status).toBe(404);
});

test("groups: creating one from the dialog shows the API's field errors inline", async ({ page }) => {
  const group = `new-${uid()}@example.com`;
  await signInAsDemoAdmin(page);
  await page.goto("/groups");
  await page.getByRole("button", { name: "Create group" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Group email").fill("not an email");
  await dialog.getByRole("button", { name: "Create group" }).click();
  await expect(dialog.getByLabel("Group email")).toHaveAttribute("aria-invalid", "true");
  await axe(page);
  await shot(page, "group-create-dialog");
  await dialog.getByLabel("Group email").fill(group);
  await dialog.getByLabel("Display name").fill("New team");
  await dialog.getByRole("button", { name: "Create group" }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${encodeURIComponent(group)}`));
  await expect(page.getByRole("heading", { level: 1, name: "New team" })).toBeVisible();
});

test("principals: a user is created with a one-time password shown once, disabled, and deleted with the deleted: consequence explained", async ({ page }) => {
  const user = `person-${uid()}@example.com`;
  await signInAsDemoAdmin(page);
  await page.goto("/principals");
  await axe(page);
  await shot(page, "principals-users");
  await page.getByRole("button", { name: "Create user" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Email").fill(user);
  await dialog.getByLabel("Display name").fill("Pat Person");
  await dialog.getByRole("button", { name: "Create user" }).click();
  const password = dialog.getByLabel("One-time password");
  await expect(password).toHaveValue(/^\S{8,}$/);
  await axe(page);
  await shot(page, "user-created-dialog");
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(page.getByLabel("One-time password")).toHaveCount(0);

  await page.getByLabel("Filter by email").fill(user);
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("link", { name: user }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Pat Person" })).toBeVisible();
  await page.getByRole("button", { name: "Disable" }).click();
  await expect(page.getByRole("dialog")).toContainText("PRINCIPAL_DISABLED");
  await axe(page);
  await page.getByRole("dialog").getByRole("button", { name: "Disable" }).click();
  await expect(page.getByText("Disabled", { exact: true })).toBeVisible();

  await page.getByRole("button", { name: "Delete user" }).click();
  await expect(page.getByRole("dialog")).toContainText(`deleted:user:${user}?uid=`);
  await axe(page);
  await shot(page, "user-delete-dialog");
  await page.getByRole("dialog").getByRole("button", { name: "Delete user" }).click();
  await expect(page).toHaveURL(/\/principals\?tab=users$/);
});

test("principals: a service account's key downloads once as a JSON key file, and the key can be deleted", async ({ page }) => {
  const account = `keys-${uid()}`;
  const email = `${account}@demo.iam.gserviceaccount.com`;
  await signInAsDemoAdmin(page);
  await page.goto("/principals?tab=serviceAccounts");
  await page.getByRole("button", { name: "Create service account" }).click();
  const create = page.getByRole("dialog");
  await create.getByLabel("Project").selectOption("demo");
  await create.getByLabel("Account id").fill("x");
  await create.getByRole("button", { name: "Create" }).click();
  await expect(create.getByLabel("Account id")).toHaveAttribute("aria-invalid", "true");
  await axe(page);
  await shot(page, "service-account-create-dialog");
  await create.getByLabel("Account id").fill(account);
  await create.getByRole("button", { name: "Create" }).click();
  await expect(page).toHaveURL(new RegExp(encodeURIComponent(`serviceAccount:${email}`)));
  await expect(page.getByRole("heading", { name: "No keys" })).toBeVisible();

  await page.getByRole("button", { name: "Create key" }).click();
  await axe(page);
  await shot(page, "key-create-dialog");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Create and download" }).click()]);
  const key = JSON.parse(fs.readFileSync((await download.path())!, "utf8")) as Record<string, string>;
  expect(key).toMatchObject({ type: "service_account", project_id: "demo", client_email: email });
  expect(key.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(download.suggestedFilename()).toMatch(/^demo-.+\.json$/);
  await expect(page.getByRole("dialog")).toContainText("only copy of the private key");
  await shot(page, "key-created-dialog");
  await page.getByRole("button", { name: "Done" }).click();
  // The page keeps no trace of the private key.
  expect(await page.content()).not.toContain("PRIVATE KEY");
  const keys = page.getByRole("table", { name: "Keys" });
  await expect(keys).toContainText(key.private_key_id!);
  await axe(page);
  await shot(page, "principal-service-account");

  await keys.getByRole("button", { name: `Delete key ${key.private_key_id}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete key" }).click();
  await expect(page.getByRole("heading", { name: "No keys" })).toBeVisible();

  await page.getByRole("button", { name: "Delete service account" }).click();
  await expect(page.getByRole("dialog")).toContainText(`deleted:serviceAccount:${email}?uid=`);
  await page.getByRole("dialog").getByRole("button", { name: "Delete service account" }).click();
  await expect(page).toHaveURL(/\/principals\?tab=serviceAccounts$/);
  await shot(page, "principals-service-accounts");
});

test("roles: search by permission, create a custom role with the permission picker, edit and delete it", async ({ page }) => {
  const roleId = `reader_${uid()}`;
  await signInAsDemoAdmin(page);
  await page.goto("/roles");
  await page.getByLabel("Search roles and permissions").fill("tunnelInstances.accessViaIAP");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("table", { name: "Predefined roles" }).getByRole("link", { name: "roles/iap.tunnelResourceAccessor" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Predefined roles" }).getByRole("link", { name: "roles/run.invoker" })).toHaveCount(0);
  await axe(page);
  await shot(page, "roles");

  await page.getByRole("button", { name: "Create role" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Lives in").selectOption("organizations/1234");
  await dialog.getByLabel("Role id").fill(roleId);
  await dialog.getByLabel("Title").fill("Web and tunnel reader");
  await dialog.getByLabel("Search permissions").fill("accessViaIAP");
  await dialog.getByLabel("iap.webServiceVersions.accessViaIAP").check();
  await axe(page);
  await shot(page, "role-create-dialog");
  await dialog.getByRole("button", { name: "Create role" }).click();
  await expect(page).toHaveURL(new RegExp(`/roles/organizations/1234/roles/${roleId}$`));
  await expect(page.getByRole("list", { name: "Permissions" })).toHaveText("iap.webServiceVersions.accessViaIAP");

  await page.getByRole("button", { name: "Edit role" }).click();
  await page.getByRole("dialog").getByLabel("Search permissions").fill("tunnelInstances");
  await page.getByRole("dialog").getByLabel("iap.tunnelInstances.accessViaIAP").check();
  await shot(page, "role-edit-dialog");
  await page.getByRole("dialog").getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("list", { name: "Permissions" })).toContainText("iap.tunnelInstances.accessViaIAP");
  await axe(page);
  await shot(page, "role");

  await page.getByRole("button", { name: "Delete role" }).click();
  await axe(page);
  await page.getByRole("dialog").getByRole("button", { name: "Delete role" }).click();
  await expect(page).toHaveURL(/\/roles$/);
});

test("access levels: a basic level's invalid CIDR is shown next to its field; create, edit to custom CEL, delete", async ({ page }) => {
  const level = `office_${uid()}`;
  const name = `accessPolicies/1/accessLevels/${level}`;
  await signInAsDemoAdmin(page);
  await page.goto("/access-levels");
  await axe(page);
  await shot(page, "access-levels");
  await page.getByRole("button", { name: "Create access level" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Level id").fill(level);
  await dialog.getByLabel("Title").fill("Office network");
  await dialog.getByLabel("IP ranges (CIDR)").fill("10.0.0.0/33");
  await dialog.getByRole("button", { name: "Create" }).click();
  await expect(dialog.getByLabel("IP ranges (CIDR)")).toHaveAttribute("aria-invalid", "true");
  await axe(page);
  await shot(page, "access-level-create-dialog");
  await dialog.getByLabel("IP ranges (CIDR)").fill("10.0.0.0/8\n192.168.0.0/16");
  await dialog.getByLabel("Regions").fill("DE, FR");
  await dialog.getByRole("button", { name: "Add condition" }).click();
  await dialog.getByLabel("Members").nth(1).fill(`user:${demoCredentials().email}`);
  await dialog.getByLabel("Combine conditions with").selectOption("OR");
  await dialog.getByRole("button", { name: "Create" }).click();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("IP in 10.0.0.0/8, 192.168.0.0/16 and region in DE, FR");
  await expect(row).toContainText("OR");

  await row.getByRole("button", { name: `Edit ${name}` }).click();
  await page.getByRole("dialog").getByLabel("Custom (CEL)").check();
  await page.getByRole("dialog").getByLabel("CEL expression").fill("request.time <");
  await page.getByRole("dialog").getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("dialog").getByLabel("CEL expression")).toHaveAttribute("aria-invalid", "true");
  await axe(page);
  await shot(page, "access-level-edit-dialog");
  await page.getByRole("dialog").getByLabel("CEL expression").fill("request.time.getHours('UTC') < 20");
  await page.getByRole("dialog").getByRole("button", { name: "Save" }).click();
  await expect(row).toContainText("Custom (CEL)");

  await row.getByRole("button", { name: `Delete ${name}` }).click();
  await axe(page);
  await shot(page, "access-level-delete-dialog");
  await page.getByRole("dialog").getByRole("button", { name: "Delete level" }).click();
  await expect(page.getByRole("row").filter({ hasText: name })).toHaveCount(0);
});

test("a read-only viewer sees the identity pages without edit controls, and a replayed edit action is refused", async ({ page, browser, request }) => {
  const id = uid();
  const group = `watched-${id}@example.com`;
  const viewerEmail = `viewer-${id}@example.com`;
  await ok(request, "POST", "/api/v1/groups", { email: group, members: [`user:${demoCredentials().email}`] });
  const created = await ok(request, "POST", "/api/v1/users", { email: viewerEmail });
  await grant(request, "organizations/1234", "roles/viewer", `user:${viewerEmail}`);

  // The admin's add-member action, captured to be replayed by the viewer.
  await signInAsDemoAdmin(page);
  await page.goto(`/groups/${encodeURIComponent(group)}`);
  const posted = page.waitForRequest((r) => r.method() === "POST" && r.headers()["next-action"] !== undefined);
  await page.getByLabel("Member to add").fill(`user:a-${id}@example.com`);
  await page.getByRole("button", { name: "Add member" }).click();
  const action = await posted;
  await expect(page.getByRole("table", { name: "Direct members" })).toContainText(`user:a-${id}@example.com`);

  const context = await browser.newContext();
  const viewer = await context.newPage();
  await viewer.goto("/signin");
  await viewer.getByLabel("Email").fill(viewerEmail);
  await viewer.getByLabel("Password").fill(String(created.password));
  await viewer.getByRole("button", { name: /^sign in$/i }).click();
  await viewer.getByLabel("New password", { exact: true }).fill(`pw-${id}-long-enough`);
  await viewer.getByLabel("Repeat the new password").fill(`pw-${id}-long-enough`);
  await viewer.getByRole("button", { name: /set password and continue/i }).click();
  await expect(viewer).toHaveURL(/\/iap$/, { timeout: 60_000 });

  await viewer.goto(`/groups/${encodeURIComponent(group)}`);
  await expect(viewer.getByRole("table", { name: "Direct members" })).toContainText(`user:a-${id}@example.com`);
  await expect(viewer.getByLabel("Member to add")).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: /remove|delete/i })).toHaveCount(0);
  await axe(viewer);
  await shot(viewer, "viewer-group");
  for (const path of ["/groups", "/principals", "/principals?tab=serviceAccounts", "/roles", "/roles/organizations/1234/roles/webReader", "/access-levels", principalPage("serviceAccount:gateway@payments.iam.gserviceaccount.com")]) {
    await viewer.goto(path);
    await expect(viewer.getByRole("heading", { level: 1 })).toBeVisible();
    await expect(viewer.getByRole("button", { name: /create|edit|delete|disable|enable|remove|add/i })).toHaveCount(0);
  }
  await shot(viewer, "viewer-service-account");

  // The same action, posted from the viewer's page (its session, the console's Origin) with another member: refused by lib/admin.
  const replayed = await viewer.evaluate(
    async ({ url, id, type, body }) => (await fetch(url, { method: "POST", headers: { "next-action": id, "content-type": type, accept: "text/x-component" }, body })).text(),
    { url: action.url(), id: action.headers()["next-action"]!, type: action.headers()["content-type"]!, body: action.postData()!.replace(`user:a-${id}@example.com`, `user:b-${id}@example.com`) },
  );
  expect(replayed).toContain("PERMISSION_DENIED");
  // And the admin API with the viewer's console session.
  const direct = await viewer.evaluate(
    async ({ url, member }) => (await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ member }) })).status,
    { url: `/api/v1/groups/${group}/members`, member: `user:c-${id}@example.com` },
  );
  expect(direct).toBe(403);
  const members = await ok(request, "GET", `/api/v1/groups/${group}/members`);
  expect(JSON.stringify(members)).not.toMatch(new RegExp(`user:[bc]-${id}@`));
  await context.close();
});
