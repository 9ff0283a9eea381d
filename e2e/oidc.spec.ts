import { expect, test, type Page } from "@playwright/test";

// SSO against a real OpenID Provider (oidc-provider, started by e2e/support/start.ts); what the
// signed-in user may see is decided by IAM on the seeded demo world.
async function ssoLogin(page: Page, login: string) {
  await page.goto("/signin");
  await page.getByRole("button", { name: /test sso/i }).click();
  // The issuer's own login and consent pages.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("anything");
  await page.locator('button[type="submit"]').click();
  await page.getByRole("button", { name: /continue/i }).click();
}

async function signInWithSso(page: Page, login: string) {
  await ssoLogin(page, login);
  await expect(page).toHaveURL(/\/iap$/);
  await expect(page.getByRole("banner").getByText(login)).toBeVisible();
}

test("an SSO user without a console role is told so, and sees no resources", async ({ page }) => {
  // alice may reach web apps (IAP-secured Web App User) but holds no role that shows projects.
  await signInWithSso(page, "alice@example.com");
  await expect(page.getByText(/don't have access to this console/i)).toBeVisible();
  await expect(page.getByText("projects/demo")).toHaveCount(0);
});

test("an SSO user with an inherited viewer-like role sees the projects", async ({ page }) => {
  // dave is in auditors@, which holds Private Logs Viewer on the organization.
  await signInWithSso(page, "dave@example.com");
  await expect(page.getByRole("row").filter({ hasText: "projects/demo/iap_web/compute/services/web" })).toBeVisible();
});

// The issuer says email_verified: false for the first login, and sends no claim at all for the second.
for (const login of ["unverified-eve@example.com", "noclaim-eve@example.com"]) {
  test(`an SSO sign-in whose email the issuer has not verified is refused (${login.split("-")[0]})`, async ({ page }) => {
    await ssoLogin(page, login);
    await expect(page).toHaveURL(/\/signin\?error=AccessDenied/);
    await expect(page.getByText(/identity provider must confirm that you own your email address/i)).toBeVisible();
    await page.goto("/iap");
    await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fiap/);
  });
}
