import { expect, type Page } from "@playwright/test";
import { demoCredentials } from "./env";

/** Signs in as the seeded demo admin through the real sign-in form (a sign-in hashes at scrypt's cost: on a loaded machine that takes seconds). */
export async function signInAsDemoAdmin(page: Page): Promise<void> {
  const { email, password } = demoCredentials();
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: /^sign in$/i }).click();
  await expect(page).toHaveURL(/\/iap$/, { timeout: 60_000 });
}
