// First-run seed: on an empty database, apply the demo world file (prisma/seed/demo-world.yaml)
// through the same `apply` as the CLI, and create a console account for the demo admin with a
// random password stored under the data directory (printed at start-up, never in the repo).
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { hashPassword } from "@/lib/auth/password";
import { DEMO_CREDENTIALS_FILE } from "@/lib/auth/providers";

export const DEMO_WORLD_FILE = "prisma/seed/demo-world.yaml";
export const DEMO_ADMIN = "admin@example.com";

export async function isEmpty(prisma: PrismaClient): Promise<boolean> {
  const [nodes, revision] = await Promise.all([prisma.node.count(), prisma.policyRevision.findUnique({ where: { id: 1 } })]);
  return nodes === 0 && (revision?.value ?? 0n) === 0n;
}

export async function seedDemo(prisma: PrismaClient, dataDir: string): Promise<{ email: string; password: string; changes: number }> {
  const world = parseWorld(fs.readFileSync(DEMO_WORLD_FILE, "utf8"), DEMO_WORLD_FILE);
  const { changes } = await applyWorld(prisma, world, { actor: "system:seed", catalog: worldCatalog() });
  const password = randomBytes(9).toString("base64url");
  const passwordHash = await hashPassword(password);
  await prisma.user.upsert({
    where: { email: DEMO_ADMIN },
    create: { email: DEMO_ADMIN, name: "Ada Admin", passwordHash },
    update: { passwordHash },
  });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, DEMO_CREDENTIALS_FILE), JSON.stringify({ email: DEMO_ADMIN, password }, null, 2) + "\n", { mode: 0o600 });
  return { email: DEMO_ADMIN, password, changes: changes.length };
}
