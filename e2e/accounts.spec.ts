// Console accounts made with the CLI: a one-time password must be replaced at the first sign-in,
// and disabling the user ends a session that is already open.
import { randomBytes } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { gatehouse, lastWord } from "./support/cli";

const unique = (name: string) => `${name}-${randomBytes(4).toString("hex")}@example.com`;

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: /^sign in$/i }).click();
}

async function choosePassword(page: Page, password: string, confirm = password) {
  await page.getByLabel("New password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the new password").fill(confirm);
  await page.getByRole("button", { name: /set password and continue/i }).click();
}

test("the first sign-in with a one-time password lands on choosing a new one, then the console", async ({ page }) => {
  test.setTimeout(90_000);
  const email = unique("owner");
  const oneTime = lastWord((await gatehouse("user", "create", "--email", email, "--owner")).stdout);

  await signIn(page, email, oneTime);
  await expect(page).toHaveURL(/\/signin\/new-password/);
  await expect(page.getByRole("heading", { name: /choose a new password/i })).toBeVisible();
  await page.screenshot({ path: "e2e/screenshots/new-password.png", fullPage: true });

  // Nothing else before that: the console sends the user back here.
  await page.goto("/iap");
  await expect(page).toHaveURL(/\/signin\/new-password\?callbackUrl=%2Fiap/);

  await choosePassword(page, "a-new-password-1", "a-new-password-2");
  await expect(page.getByText(/the two passwords differ/i)).toBeVisible();
  await choosePassword(page, oneTime);
  await expect(page.getByText(/other than the one-time password/i)).toBeVisible();
  await choosePassword(page, "short");
  await expect(page.getByText(/choose a password of at least 12 characters/i)).toBeVisible();

  const chosen = `chosen-${randomBytes(6).toString("hex")}`;
  await choosePassword(page, chosen);
  // An instance owner: roles/owner on the demo organization, so the console shows its projects.
  await expect(page).toHaveURL(/\/iap$/);
  await expect(page.getByRole("banner").getByText(email)).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "projects/demo/iap_web/compute/services/web" })).toBeVisible();

  // The one-time password is gone; the chosen one signs in straight to the console.
  await page.getByRole("button", { name: /sign out/i }).click();
  await signIn(page, email, oneTime);
  await expect(page.getByText(/wrong email or password/i)).toBeVisible();
  await signIn(page, email, chosen);
  await expect(page).toHaveURL(/\/iap$/);
});

test("disabling a user ends its open console session on the next request, and refuses its sign-in", async ({ page }) => {
  test.setTimeout(90_000);
  const email = unique("leaver");
  const oneTime = lastWord((await gatehouse("user", "create", "--email", email, "--owner")).stdout);
  await signIn(page, email, oneTime);
  const chosen = `chosen-${randomBytes(6).toString("hex")}`;
  await choosePassword(page, chosen);
  await expect(page).toHaveURL(/\/iap$/);

  await gatehouse("user", "disable", "--email", email);
  await page.goto("/groups");
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fgroups/);

  await signIn(page, email, chosen);
  await expect(page.getByText(/wrong email or password/i)).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);
});
