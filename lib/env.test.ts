import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "./env";

describe("configuration", () => {
  it("has working defaults on a machine with no configuration", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 3000, GATEHOUSE_PUBLIC_URL: "http://localhost:3000", GATEHOUSE_BOOTSTRAP_ADMINS: [], GATEHOUSE_SEED_DEMO: true, GATEHOUSE_DATA_DIR: ".data" });
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("seeds the demo world only in development, unless GATEHOUSE_SEED_DEMO says otherwise", () => {
    expect(parseEnv({ NODE_ENV: "development" }).GATEHOUSE_SEED_DEMO).toBe(true);
    expect(parseEnv({ NODE_ENV: "production" }).GATEHOUSE_SEED_DEMO).toBe(false);
    expect(parseEnv({ NODE_ENV: "production", GATEHOUSE_SEED_DEMO: "" }).GATEHOUSE_SEED_DEMO).toBe(false);
    expect(parseEnv({ NODE_ENV: "test" }).GATEHOUSE_SEED_DEMO).toBe(false);
    expect(parseEnv({ NODE_ENV: "production", GATEHOUSE_SEED_DEMO: "true" }).GATEHOUSE_SEED_DEMO).toBe(true);
    expect(parseEnv({ NODE_ENV: "development", GATEHOUSE_SEED_DEMO: "0" }).GATEHOUSE_SEED_DEMO).toBe(false);
  });

  it("requires verified emails from the console's SSO unless told otherwise", () => {
    expect(parseEnv({}).GATEHOUSE_OIDC_ALLOW_UNVERIFIED_EMAIL).toBe(false);
    expect(parseEnv({ GATEHOUSE_OIDC_ALLOW_UNVERIFIED_EMAIL: "true" }).GATEHOUSE_OIDC_ALLOW_UNVERIFIED_EMAIL).toBe(true);
  });

  it("ships the data-access stream to stdout or a file when told, and stores it in PostgreSQL unless told not to", () => {
    expect(parseEnv({}).GATEHOUSE_AUDIT_SINK).toBeUndefined();
    expect(parseEnv({}).GATEHOUSE_AUDIT_STORE_DATA_ACCESS).toBe(true);
    expect(parseEnv({ GATEHOUSE_AUDIT_SINK: "stdout" }).GATEHOUSE_AUDIT_SINK).toEqual({ kind: "stdout" });
    const shipped = parseEnv({ GATEHOUSE_AUDIT_SINK: "file:/var/log/gatehouse/audit.ndjson", GATEHOUSE_AUDIT_STORE_DATA_ACCESS: "false" });
    expect([shipped.GATEHOUSE_AUDIT_SINK, shipped.GATEHOUSE_AUDIT_STORE_DATA_ACCESS]).toEqual([{ kind: "file", path: "/var/log/gatehouse/audit.ndjson" }, false]);
  });

  it("validates the audit key, checkpoint period and retention with readable messages", () => {
    expect(parseEnv({})).toMatchObject({ GATEHOUSE_AUDIT_CHECKPOINT_SECONDS: 60, GATEHOUSE_AUDIT_RETENTION_DAYS_DATA_ACCESS: 0, GATEHOUSE_AUDIT_RETENTION_DAYS_ADMIN_ACTIVITY: 0 });
    expect(parseEnv({}).GATEHOUSE_AUDIT_KEY).toBeUndefined();
    expect(parseEnv({ GATEHOUSE_AUDIT_RETENTION_DAYS_DATA_ACCESS: "30" }).GATEHOUSE_AUDIT_RETENTION_DAYS_DATA_ACCESS).toBe(30);
    expect(() => parseEnv({ GATEHOUSE_AUDIT_KEY: "short" })).toThrow(/GATEHOUSE_AUDIT_KEY: GATEHOUSE_AUDIT_KEY must be at least 32 characters/);
    expect(() => parseEnv({ GATEHOUSE_AUDIT_RETENTION_DAYS_ADMIN_ACTIVITY: "-1" })).toThrow(/GATEHOUSE_AUDIT_RETENTION_DAYS_ADMIN_ACTIVITY: must be 0/);
    expect(() => parseEnv({ GATEHOUSE_AUDIT_CHECKPOINT_SECONDS: "soon" })).toThrow(/GATEHOUSE_AUDIT_CHECKPOINT_SECONDS: must be a number of seconds/);
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
    [{ GATEHOUSE_SEED_DEMO: "yes" }, /GATEHOUSE_SEED_DEMO/],
    [{ GATEHOUSE_AUDIT_SINK: "syslog" }, /GATEHOUSE_AUDIT_SINK must be stdout or file:PATH/],
    [{ GATEHOUSE_AUDIT_SINK: "file:" }, /GATEHOUSE_AUDIT_SINK must be stdout or file:PATH/],
    [{ GATEHOUSE_AUDIT_STORE_DATA_ACCESS: "false" }, /needs GATEHOUSE_AUDIT_SINK/],
  ] as [Record<string, string>, RegExp][])("refuses %o with a readable message", (source, message) => {
    expect(() => parseEnv(source)).toThrow(ConfigError);
    expect(() => parseEnv(source)).toThrow(message);
  });
});
