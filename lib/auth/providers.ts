// What the sign-in page offers. The demo hint is read from the file the first-run seed wrote
// under the data directory (never from the repo), and only while demo seeding is enabled.
import fs from "node:fs";
import path from "node:path";
import { env } from "@/lib/env";

export const DEMO_CREDENTIALS_FILE = "demo-credentials.json";

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

export function authProviders(): { oidcEnabled: boolean; oidcName: string | null; demoHint: { email: string; password: string } | null } {
  const e = env();
  const oidcEnabled = Boolean(e.GATEHOUSE_OIDC_ISSUER);
  return {
    oidcEnabled,
    oidcName: oidcEnabled ? e.GATEHOUSE_OIDC_NAME : null,
    demoHint: e.GATEHOUSE_SEED_DEMO ? readDemoCredentials(e.GATEHOUSE_DATA_DIR) : null,
  };
}
