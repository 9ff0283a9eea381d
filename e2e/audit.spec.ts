// The console's audit pages against the production build: both streams, URL-driven filters,
// keyset paging, an entry's details (with the decision's "why" link), the export links, empty and
// error states, and no serious or critical accessibility violation. Each test seeds its own
// decisions (through the decision API, with a proxy credential of its own) and its own change.
import { randomBytes } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { gatehouse, lastWord } from "./support/cli";
import { E2E } from "./support/env";
import { expectAccessible as noSeriousViolations } from "./support/a11y";
import { signInAsDemoAdmin } from "./support/session";

const WEB = "projects/demo/iap_web/compute/services/web";
const shots = "e2e/screenshots";

/** A request from the console's own page (its cookie, its Origin), as the browser makes it. */
function inPage(page: Page, url: string, body?: unknown): Promise<{ status: number; text: string }> {
  return page.evaluate(
    async ([u, b]) => {
      const r = await fetch(u, b === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) });
      return { status: r.status, text: await r.text() };
    },
    [url, body] as const,
  );
}

/** `n` denied decisions for a principal nobody knows, through the decision API. */
async function seedDecisions(n: number): Promise<{ principal: string; ids: string[] }> {
  const key = lastWord((await gatehouse("proxy-key", "create", "--name", `e2e-audit-${randomBytes(3).toString("hex")}`, "--trusted")).stdout);
  const principal = `user:audit-${randomBytes(4).toString("hex")}@example.com`;
  const res = await fetch(`${E2E.directURL}/api/v1/decisions:batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ checks: Array.from({ length: n }, (_, i) => ({ principal, resource: WEB, request: { path: `/audit-e2e/${i}`, ip: "203.0.113.50" } })) }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { results: { decisionId: string; allowed: boolean }[] };
  return { principal, ids: body.results.map((r) => r.decisionId) };
}

test("an admin pages through data access, opens a decision's details and exports what the filter shows", async ({ page }) => {
  test.setTimeout(240_000);
  const { principal, ids } = await seedDecisions(60);
  await signInAsDemoAdmin(page);

  await page.goto("/audit");
  await expect(page.getByRole("heading", { name: "Audit logs", level: 1 })).toBeVisible();
  await expect(page.getByRole("link", { name: "Admin activity" })).toHaveAttribute("aria-current", "page");
  await page.getByRole("link", { name: "Data access" }).click();
  await expect(page).toHaveURL(/stream=data_access/);

  // Filter through the form: the URL carries the filter (a shareable view).
  await page.getByLabel("Principal", { exact: true }).fill(principal);
  await page.getByLabel("Decision", { exact: true }).selectOption("false");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(new RegExp(`principal=${encodeURIComponent(principal).replace(/%40/, "(%40|@)")}`));
  // Records reach the database within a flush (100 ms): reload until they are there.
  const rows = page.getByRole("table", { name: /data-access entries/i }).getByRole("row");
  await expect(async () => {
    await page.reload();
    await expect(rows).toHaveCount(51, { timeout: 1000 }); // the header and a page of 50
  }).toPass({ timeout: 15_000 });
  await expect(rows.nth(1)).toContainText("Denied");
  await expect(rows.nth(1)).toContainText(WEB);
  await noSeriousViolations(page);
  await page.screenshot({ path: `${shots}/audit-data-access.png`, fullPage: true });

  // The next page holds the other ten; none repeats.
  const decisionsShown = async () => Promise.all((await page.getByRole("link", { name: /^Explain decision/ }).all()).map(async (l) => (await l.getAttribute("href"))!.split("/").at(-1)!));
  const firstPage = await decisionsShown();
  await page.getByRole("link", { name: "Older entries" }).click();
  await expect(rows).toHaveCount(11);
  await expect(page.getByText("End of the log")).toBeVisible();
  const secondPage = await decisionsShown();
  expect([...firstPage, ...secondPage].sort()).toEqual([...ids].sort());
  await page.getByRole("link", { name: "Newest entries" }).click();
  await expect(rows).toHaveCount(51);

  // An entry's details: the Cloud Audit Log JSON and the decision's "why" page.
  await rows.nth(1).getByRole("button", { name: /details of AuthorizeUser/i }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel("Log entry JSON")).toContainText('"methodName": "AuthorizeUser"');
  await expect(dialog.getByLabel("Log entry JSON")).toContainText("type.googleapis.com/google.cloud.audit.AuditLog");
  const why = dialog.getByRole("link", { name: "Why was this decided?" });
  const href = await why.getAttribute("href");
  expect(href).toMatch(/^\/audit\/decisions\/[0-9a-f-]{36}$/);
  expect(ids).toContain(href!.split("/").at(-1));
  await noSeriousViolations(page);
  await page.screenshot({ path: `${shots}/audit-entry-details.png`, fullPage: true });
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  // The export links carry the same filters, and answer with the session's cookie.
  const csvHref = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
  expect(csvHref).toContain("granted=false");
  const csv = await inPage(page, csvHref!);
  expect(csv.status).toBe(200);
  expect(csv.text.split("\n")[0]).toContain("insertId");
  for (const id of ids) expect(csv.text).toContain(id);
  const ndjson = await inPage(page, (await page.getByRole("link", { name: "Export NDJSON" }).getAttribute("href"))!);
  expect(ndjson.text.trim().split("\n")).toHaveLength(60);
});

test("admin activity shows a change with its binding deltas; empty and invalid filters say so", async ({ page }) => {
  test.setTimeout(180_000);
  await signInAsDemoAdmin(page);
  const group = `audit-${randomBytes(4).toString("hex")}@example.com`;
  const created = await inPage(page, "/api/v1/groups", { email: group, displayName: "Audit e2e" });
  expect(created.status, created.text).toBe(201);

  await page.goto(`/audit?stream=admin_activity&q=${encodeURIComponent(group)}`);
  const rows = page.getByRole("table", { name: /admin-activity entries/i }).getByRole("row");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toContainText(group);
  await expect(page.getByLabel("Text")).toHaveValue(group);
  await rows.nth(1).getByRole("button", { name: /details of/i }).click();
  await expect(page.getByRole("dialog").getByLabel("Log entry JSON")).toContainText(group);
  await expect(page.getByRole("dialog").getByRole("link", { name: /why/i })).toHaveCount(0);
  await noSeriousViolations(page);
  await page.screenshot({ path: `${shots}/audit-admin-activity.png`, fullPage: true });
  await page.keyboard.press("Escape");

  await page.goto(`/audit?stream=admin_activity&principal=nobody-${randomBytes(3).toString("hex")}@example.com`);
  await expect(page.getByText("No entries match")).toBeVisible();
  await noSeriousViolations(page);
  await page.screenshot({ path: `${shots}/audit-empty.png`, fullPage: true });

  await page.goto("/audit?stream=data_access&startTime=last-tuesday");
  await expect(page.getByRole("alert").filter({ hasText: "cannot be applied" })).toBeVisible();
  await expect(page.locator("#filter-startTime-error")).toHaveText(/must be an RFC 3339 time/);
  await expect(page.getByLabel("From (UTC)")).toHaveAttribute("aria-invalid", "true");
  await noSeriousViolations(page);
  await page.screenshot({ path: `${shots}/audit-invalid-filter.png`, fullPage: true });
});
