// The whole path of a browser to an app behind nginx: no session → nginx asks Gatehouse
// (forward-auth) → 401 → redirected to Gatehouse's app-session start → sign-in → SSO → back to
// start → a one-time code to the app's /_gatehouse/callback (routed by nginx to Gatehouse) → a
// session cookie for the app's host only → allowed, and the app sees an identity it verified
// itself — but neither the console's session nor the app's own session cookie.
import { expect, test } from "@playwright/test";
import { E2E } from "./support/env";

test("a browser signs in through the proxy and reaches the app with a verified identity", async ({ page }) => {
  await page.goto(`${E2E.appURL}/docs?page=1`);
  // Sent to Gatehouse's sign-in, which will return to the app.
  await expect(page).toHaveURL(new RegExp(`^${E2E.baseURL}/signin\\?callbackUrl=`));
  await page.getByRole("button", { name: /test sso/i }).click();
  await page.locator('input[name="login"]').fill("alice@example.com");
  await page.locator('input[name="password"]').fill("anything");
  await page.locator('button[type="submit"]').click();
  await page.getByRole("button", { name: /continue/i }).click();

  await expect(page).toHaveURL(`${E2E.appURL}/docs?page=1`);
  await expect(page.getByRole("heading", { name: "Hello alice@example.com" })).toBeVisible();

  // The app's session is a host-only cookie on the app's host; the console's stays on Gatehouse's.
  const cookies = await page.context().cookies();
  const app = cookies.find((c) => c.name === "gatehouse-app");
  expect(app?.domain).toBe("web.example.test");
  expect(app?.httpOnly).toBe(true);
  for (const c of cookies.filter((c) => c.name.includes("authjs"))) expect(c.domain).toBe("gatehouse.example.test");
  // Neither reached the application.
  const seen = (await page.locator("#cookies").textContent()) ?? "";
  expect(seen).not.toContain(app!.value);
  expect(seen).not.toContain("authjs");

  // The same session, a path the binding's condition excludes: denied by Gatehouse at the proxy.
  const admin = await page.goto(`${E2E.appURL}/admin/settings`);
  expect(admin?.status()).toBe(403);
  const encoded = await page.goto(`${E2E.appURL}/%61dmin/settings`);
  expect(encoded?.status()).toBe(403);
});
