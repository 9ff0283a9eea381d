// Visits every console page through the sidebar, checks it renders its heading, and saves a
// screenshot under e2e/screenshots/ (git-ignored) for people to look at.
import { expect, test } from "@playwright/test";
import { NAV_GROUPS } from "@/components/shell/nav-items";
import { demoCredentials } from "./support/env";
import { signInAsDemoAdmin } from "./support/session";

const dir = "e2e/screenshots";

test("sign-in page", async ({ page }) => {
  await page.goto("/signin");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await page.screenshot({ path: `${dir}/signin.png`, fullPage: true });
});

test("every console section renders from the sidebar", async ({ page }) => {
  // Eleven sections, each a server render, on two cores shared with the other worker.
  test.setTimeout(120_000);
  await signInAsDemoAdmin(page);
  for (const item of NAV_GROUPS.flatMap((g) => g.items)) {
    await page.getByRole("navigation").getByRole("link", { name: item.label, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${item.href}$`));
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await expect(page.getByRole("link", { name: item.label, exact: true })).toHaveAttribute("aria-current", "page");
    await page.screenshot({ path: `${dir}${item.href}.png`, fullPage: true });
  }
});

test("a deep link returns to its page after sign-in", async ({ page }) => {
  await page.goto("/groups");
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fgroups/);
  const { email, password } = demoCredentials();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: /^sign in$/i }).click();
  await expect(page).toHaveURL(/\/groups$/);
});
