// First-run seed: on an empty database, apply the demo world file (prisma/seed/demo-world.yaml)
// and create a console account for the demo admin with a random password stored under the data
// directory (printed at start-up, never in the repo). One mutation as the seed's system actor
// (SYSTEM_SEED): the world and the account commit together, each change with its admin-activity
// record, or nothing does.
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { applyWorldIn } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { hashPassword } from "@/lib/auth/password";
import { DEMO_CREDENTIALS_FILE } from "@/lib/auth/providers";
import { SYSTEM_SEED } from "./context";
import { runMutation } from "./mutation";

export const DEMO_WORLD_FILE = "prisma/seed/demo-world.yaml";
export const DEMO_ADMIN = "admin@example.com";

export async function isEmpty(prisma: PrismaClient): Promise<boolean> {
  const [nodes, revision] = await Promise.all([prisma.node.count(), prisma.policyRevision.findUnique({ where: { id: 1 } })]);
  return nodes === 0 && (revision?.value ?? 0n) === 0n;
}

/** Seeds the demo world and its admin's console account; `changes`: the world's changes. */
export async function seedDemo(prisma: PrismaClient, dataDir: string): Promise<{ email: string; password: string; changes: number; revision: bigint | null }> {
  const world = parseWorld(fs.readFileSync(DEMO_WORLD_FILE, "utf8"), DEMO_WORLD_FILE);
  const password = randomBytes(9).toString("base64url");
  const passwordHash = await hashPassword(password);
  const { value: changes, revision } = await runMutation({ db: prisma, actor: SYSTEM_SEED }, async (m) => {
    const changes = await applyWorldIn(m, world, { catalog: worldCatalog() });
    await m.tx.user.upsert({
      where: { email: DEMO_ADMIN },
      create: { email: DEMO_ADMIN, name: "Ada Admin", passwordHash },
      update: { passwordHash },
    });
    m.audit({ methodName: "CreateConsoleAccount", serviceName: "gatehouse.local", resourceName: `users/${DEMO_ADMIN}`, request: { email: DEMO_ADMIN, source: "demo seed" } });
    return changes;
  });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, DEMO_CREDENTIALS_FILE), JSON.stringify({ email: DEMO_ADMIN, password }, null, 2) + "\n", { mode: 0o600 });
  return { email: DEMO_ADMIN, password, changes: changes.length, revision };
}
