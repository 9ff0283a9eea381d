/**
 * Integration tests create and drop databases: never against a server that is not on this
 * machine unless someone says so explicitly (GATEHOUSE_TEST_ALLOW_REMOTE_DB=1).
 */
import pg from "pg";

export const ALLOW_REMOTE_ENV = "GATEHOUSE_TEST_ALLOW_REMOTE_DB";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]", ""]);

export function isLocalDatabaseUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const host = decodeURIComponent(u.hostname).toLowerCase();
  if (LOCAL_HOSTS.has(host) || host.startsWith("127.") || host.endsWith(".localhost")) {
    // `?host=/var/run/postgresql` (unix socket) is local too; any other host= override is not.
    const hostParam = u.searchParams.get("host");
    return !hostParam || hostParam.startsWith("/");
  }
  return false;
}

export function assertLocalDatabaseUrl(url: string, what = "database URL"): void {
  if (isLocalDatabaseUrl(url)) return;
  const v = process.env[ALLOW_REMOTE_ENV];
  if (v === "1" || v === "true") return;
  let where = "(unparsable URL)";
  try {
    where = new URL(url).host;
  } catch {
    /* keep the placeholder: never print the URL, it may hold a password */
  }
  throw new Error(
    `Refusing to run integration tests against ${what} on ${where}: it is not a local server and tests ` +
      `create and drop databases. Set ${ALLOW_REMOTE_ENV}=1 if that is really intended.`,
  );
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Runs `fn` with a short-lived client on the server's maintenance database (CREATE/DROP DATABASE). */
export async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  c.on("error", () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}
