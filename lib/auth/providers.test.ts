import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEnv } from "@/lib/env";
import { authProviders, DEMO_CREDENTIALS_FILE } from "./providers";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gatehouse-providers-"));
const PASSWORD = "demo-password-never-on-a-page";
fs.writeFileSync(path.join(dir, DEMO_CREDENTIALS_FILE), JSON.stringify({ email: "admin@example.com", password: PASSWORD }));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("what the sign-in page is given", () => {
  it("in development with the demo world: the demo email, never its password", () => {
    const p = authProviders(parseEnv({ NODE_ENV: "development", GATEHOUSE_DATA_DIR: dir }));
    expect(p.demoHint).toEqual({ email: "admin@example.com" });
    expect(JSON.stringify(p)).not.toContain(PASSWORD);
  });

  it("in production, nothing about the demo sign-in, even with GATEHOUSE_SEED_DEMO=true", () => {
    for (const source of [{ NODE_ENV: "production" }, { NODE_ENV: "production", GATEHOUSE_SEED_DEMO: "true" }]) {
      const p = authProviders(parseEnv({ ...source, GATEHOUSE_DATA_DIR: dir }));
      expect(p.demoHint).toBeNull();
      expect(JSON.stringify(p)).not.toContain(PASSWORD);
    }
  });
});
