import { expect, test } from "@playwright/test";

// SSO against a real OpenID Provider (oidc-provider, started by e2e/support/start.ts).
test("a user signs in with SSO through the configured OIDC issuer", async ({ page }) => {
  await page.goto("/signin");
  await page.getByRole("button", { name: /test sso/i }).click();
  // The issuer's own login and consent pages.
  await page.locator('input[name="login"]').fill("alice@example.com");
  await page.locator('input[name="password"]').fill("anything");
  await page.locator('button[type="submit"]').click();
  await page.getByRole("button", { name: /continue/i }).click();
  await expect(page).toHaveURL(/\/iap$/);
  await expect(page.getByText("alice@example.com")).toBeVisible();
});
