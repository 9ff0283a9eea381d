// A real OpenID Provider (oidc-provider) for browser tests of SSO sign-in. Its dev interactions
// accept any login name as the account id; the account's email is that login, verified
// (email_verified: true) — except logins starting with "unverified" (email_verified: false) and
// "noclaim" (no email_verified claim at all), for the specs that must be refused.
import Provider from "oidc-provider";

export interface TestIssuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export async function startTestIssuer(opts: { port: number; redirectUri: string }): Promise<TestIssuer> {
  const issuer = `http://localhost:${opts.port}`;
  const clientId = "gatehouse-e2e";
  const clientSecret = "e2e-client-secret-not-a-real-secret";
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUri], grant_types: ["authorization_code"], response_types: ["code"] }],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // Auth.js reads the profile from the ID token, so the email must be in it.
    conformIdTokenClaims: false,
    cookies: { keys: ["e2e-cookie-key"] },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: id.toLowerCase(),
        ...(id.startsWith("noclaim") ? {} : { email_verified: !id.startsWith("unverified") }),
        name: id.split("@")[0],
      }),
    }),
  });
  const server = provider.listen(opts.port);
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    issuer,
    clientId,
    clientSecret,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
