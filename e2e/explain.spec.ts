// Explaining the past in the browser: a decision made while alice was in a group is explained
// after she has been removed — at its own revision, still granted through that group — and "who
// could reach the app then" names her, the group, and the admin who added the binding; the CSV
// export says the same. Seeds its own project, app, group and policy through the admin API (as
// the demo admin, with an ID token from the CLI) and a trusted proxy key from the CLI.
import { parse } from "csv-parse/sync";
import { expect, test } from "@playwright/test";
import { gatehouse, lastWord } from "./support/cli";
import { demoCredentials, E2E } from "./support/env";
import { signInAsDemoAdmin } from "./support/session";
import { expectAccessible as noSeriousViolations } from "./support/a11y";

const dir = "e2e/screenshots";
const s = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const PROJECT = `hx${s}`;
const APP = `projects/${PROJECT}/iap_web/compute/services/app`;
const HOST = `hx${s}.example.test`;
const GROUP = `eng-${s}@example.com`;
const ALICE = "user:alice@example.com";
const ACCESSOR = "roles/iap.httpsResourceAccessor";

test("a decision is explained at the revision it was made, after the policy changed; who could reach the app then, with who gave them access; an unknown entry is refused like a hidden one", async ({ page }) => {
  test.setTimeout(180_000);
  const admin = demoCredentials().email;
  const token = lastWord((await gatehouse("token", "--principal", `user:${admin}`)).stdout);
  const proxyKey = lastWord((await gatehouse("proxy-key", "create", "--name", `explain-${s}`, "--trusted")).stdout);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${E2E.directURL}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(300);
    return text ? JSON.parse(text) : null;
  };
  const decide = async () => {
    const res = await fetch(`${E2E.directURL}/api/v1/decisions`, {
      method: "POST",
      headers: { authorization: `Bearer ${proxyKey}`, "content-type": "application/json" },
      body: JSON.stringify({ principal: ALICE, resource: APP, request: { method: "GET", host: HOST, path: "/reports", ip: "203.0.113.7" } }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { allowed: boolean; decisionId: string; revision: string };
  };

  await api("POST", "/api/v1/projects", { id: PROJECT, parent: "organizations/1234", displayName: "History e2e" });
  await api("POST", "/api/v1/resources", { name: APP, displayName: "History app", hosts: [HOST] });
  await api("POST", `/api/v1/${APP}:enableIap`, {});
  await api("POST", "/api/v1/groups", { email: GROUP, displayName: "History e2e", members: [ALICE] });
  const { etag } = await api("POST", `/api/v1/${APP}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } });
  await api("POST", `/api/v1/${APP}:setIamPolicy`, { policy: { version: 3, etag, bindings: [{ role: ACCESSOR, members: [`group:${GROUP}`] }] } });

  // The decision, at a second boundary of its own (the form picks times to the second).
  await new Promise((r) => setTimeout(r, 1100));
  const then = await decide();
  expect(then.allowed).toBe(true);
  const at = new Date().toISOString().slice(0, 19);
  await new Promise((r) => setTimeout(r, 1100));

  // Afterwards alice leaves the group: the same check is denied now.
  await api("DELETE", `/api/v1/groups/${encodeURIComponent(GROUP)}/members/${encodeURIComponent(ALICE)}`);
  await expect.poll(async () => (await decide()).allowed).toBe(false);

  await signInAsDemoAdmin(page);
  await page.goto(`/audit/decisions/${then.decisionId}`);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Decision");
  await expect(page.getByText("Matches the record")).toBeVisible();
  await expect(page.getByRole("heading", { name: `Why, at revision ${then.revision}` })).toBeVisible();
  const granted = page.getByRole("table", { name: "Evaluation trace" }).getByRole("row").filter({ hasText: "Granted" });
  await expect(granted).toContainText(`group:${GROUP}`);
  await expect(granted).toContainText(ACCESSOR);
  await expect(page.getByText("203.0.113.7")).toBeVisible();
  await noSeriousViolations(page);
  await page.screenshot({ path: `${dir}/audit-decision.png`, fullPage: true });

  // Who could reach the app at that time: through the form.
  await page.goto("/audit/access-at");
  await page.getByLabel("Resource").fill(APP);
  await page.getByLabel("Date and time (UTC)").fill(at);
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page).toHaveURL(/resource=/);
  const row = page.getByRole("table", { name: "Principals who could reach the resource" }).getByRole("row").filter({ hasText: ALICE });
  await expect(row).toContainText(`group:${GROUP}`);
  await expect(row).toContainText(admin);
  await expect(row).toContainText("SetIamPolicy");
  await noSeriousViolations(page);
  await page.screenshot({ path: `${dir}/audit-access-at.png`, fullPage: true });

  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Export CSV" }).click();
  const file = await (await download).path();
  const rows = parse(await import("node:fs").then((fs) => fs.readFileSync(file, "utf8")), { columns: true }) as Record<string, string>[];
  expect(rows).toEqual([expect.objectContaining({ principal: ALICE, member: `group:${GROUP}`, via_groups: `group:${GROUP}`, role: ACCESSOR, added_by: admin, resource: APP })]);

  // An unknown entry answers like one the user may not see.
  await page.goto("/audit/decisions/00000000-0000-4000-8000-000000000000");
  await expect(page.getByText("This entry cannot be shown")).toBeVisible();
  await expect(page.getByText(/or it may not exist/)).toBeVisible();

  // Now: nobody.
  await page.goto(`/audit/access-at?resource=${encodeURIComponent(APP)}&time=${encodeURIComponent(new Date().toISOString().slice(0, 19))}`);
  await expect(page.getByText("Nobody could reach it then")).toBeVisible();
});
