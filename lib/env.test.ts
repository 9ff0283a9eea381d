import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "./env";

describe("configuration", () => {
  it("has working defaults on a machine with no configuration", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, GATEHOUSE_PUBLIC_URL: "http://localhost:3000", GATEHOUSE_BOOTSTRAP_ADMINS: [], GATEHOUSE_SEED_DEMO: true, GATEHOUSE_DATA_DIR: ".data" });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("derives the public URL from PORT and normalises the admin list", () => {
    expect(parseEnv({ PORT: "8080" }).GATEHOUSE_PUBLIC_URL).toBe("http://localhost:8080");
    expect(parseEnv({ GATEHOUSE_PUBLIC_URL: "https://gh.example.test/" }).GATEHOUSE_PUBLIC_URL).toBe("https://gh.example.test");
    expect(parseEnv({ GATEHOUSE_BOOTSTRAP_ADMINS: " Ada@Example.com, bob@example.com ," }).GATEHOUSE_BOOTSTRAP_ADMINS).toEqual(["ada@example.com", "bob@example.com"]);
  });

  it.each([
    [{ PORT: "abc" }, /PORT: must be a port number/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL must be a postgres/],
    [{ AUTH_SECRET: "short" }, /AUTH_SECRET must be at least 32 characters/],
    [{ GATEHOUSE_BOOTSTRAP_ADMINS: "not-an-email" }, /GATEHOUSE_BOOTSTRAP_ADMINS must be comma-separated emails/],
    [{ GATEHOUSE_OIDC_ISSUER: "https://idp.example.test" }, /must be set together/],
    [{ GATEHOUSE_MAX_STALENESS_SECONDS: "1" }, /GATEHOUSE_MAX_STALENESS_SECONDS: must be at least 5 seconds/],
  ] as [Record<string, string>, RegExp][])("refuses %o with a readable message", (source, message) => {
    expect(() => parseEnv(source)).toThrow(ConfigError);
    expect(() => parseEnv(source)).toThrow(message);
  });
});
