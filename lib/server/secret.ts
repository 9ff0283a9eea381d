// AUTH_SECRET: taken from the environment; on a machine without one (first `npm run dev`), a
// random secret is generated once and kept under the data directory, so sessions survive
// restarts. Set AUTH_SECRET explicitly when running more than one instance.
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";

export function resolveAuthSecret(dataDir: string, given: string | undefined): { secret: string; generated: boolean } {
  if (given) return { secret: given, generated: false };
  const file = path.join(dataDir, "auth-secret");
  try {
    const s = fs.readFileSync(file, "utf8").trim();
    if (s.length >= 32) return { secret: s, generated: false };
  } catch {
    /* first run */
  }
  const secret = randomBytes(32).toString("base64url");
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, secret + "\n", { mode: 0o600 });
  return { secret, generated: true };
}
