import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { demoCredentials, E2E } from "./support/env";
import { signInAsDemoAdmin } from "./support/session";

test("signed-out visitors are sent to sign-in, and a wrong password is refused in place", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin/);
  await expect(page.getByRole("heading", { name: /sign in/i })).toBeVisible();
  await page.getByLabel("Email").fill("admin@example.com");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: /^sign in$/i }).click();
  await expect(page.getByText(/wrong email or password/i)).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);
});

test("the demo admin signs in and sees the seeded resource tree, then signs out", async ({ page }) => {
  await signInAsDemoAdmin(page);
  await expect(page.getByRole("banner").getByText(demoCredentials().email)).toBeVisible();
  await expect(page.getByText("Example Corp")).toBeVisible();
  const web = page.getByRole("row").filter({ hasText: "projects/demo/iap_web/compute/services/web" });
  await expect(web).toContainText("web.example.test");
  await expect(web).toContainText("On");
  await expect(page.getByRole("row").filter({ hasText: "projects/demo/iap_web/compute/services/grafana" })).toContainText("Off");

  await page.getByRole("button", { name: /sign out/i }).click();
  await expect(page).toHaveURL(/\/signin/);
  await page.goto("/iap");
  await expect(page).toHaveURL(/\/signin/);
});

test("the health endpoint answers without a session", async ({ request }) => {
  const res = await request.get(`${E2E.directURL}/healthz`);
  expect(res.status()).toBe(200);
  expect(await res.json()).toMatchObject({ status: "ok" });
});

test("the sign-in page never shows the demo password, which stays in the data directory (0600)", async ({ request }) => {
  // This stack is production with GATEHOUSE_SEED_DEMO=true: seeded, but no demo hint at all.
  const { email, password } = demoCredentials();
  expect(fs.statSync(path.join(E2E.dataDir, "demo-credentials.json")).mode & 0o777).toBe(0o600);
  const html = await (await request.get(`${E2E.directURL}/signin`)).text();
  expect(html).toContain("Sign in to Gatehouse");
  expect(html).not.toContain(password);
  expect(html).not.toContain(email);
});
