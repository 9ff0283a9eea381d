// What the sign-in page offers. The demo hint is read from the file the first-run seed wrote
// under the data directory (never from the repo), and only in development with demo seeding on.
// INVARIANT: the demo password never reaches a page (the sign-in page needs no session); it is
// printed to the server's terminal only. The hint carries the email and nothing else.
import fs from "node:fs";
import path from "node:path";
import { env, type Env } from "@/lib/env";

export const DEMO_CREDENTIALS_FILE = "demo-credentials.json";

/** The demo sign-in written by the seed (mode 0600): for the start-up banner and the e2e tests. */
export function readDemoCredentials(dataDir: string): { email: string; password: string } | null {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(dataDir, DEMO_CREDENTIALS_FILE), "utf8")) as unknown;
    if (raw && typeof raw === "object" && "email" in raw && "password" in raw && typeof raw.email === "string" && typeof raw.password === "string") {
      return { email: raw.email, password: raw.password };
    }
  } catch {
    /* no demo credentials */
  }
  return null;
}

export interface DemoHint {
  /** The demo admin's email; its password is in the terminal that started Gatehouse. */
  email: string;
}

export interface AuthProviders {
  oidcEnabled: boolean;
  oidcName: string | null;
  demoHint: DemoHint | null;
}

export function authProviders(e: Env = env()): AuthProviders {
  const oidcEnabled = Boolean(e.GATEHOUSE_OIDC_ISSUER);
  const demo = e.NODE_ENV === "development" && e.GATEHOUSE_SEED_DEMO ? readDemoCredentials(e.GATEHOUSE_DATA_DIR) : null;
  return {
    oidcEnabled,
    oidcName: oidcEnabled ? e.GATEHOUSE_OIDC_NAME : null,
    demoHint: demo ? { email: demo.email } : null,
  };
}
