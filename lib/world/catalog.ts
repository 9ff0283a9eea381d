// What the world validator needs to know from the policy core: the predefined role catalogue.
import { PREDEFINED_ROLES } from "@/lib/policy/roles";
import type { WorldCatalog } from "./validate";

let cached: WorldCatalog | undefined;
export function worldCatalog(): WorldCatalog {
  cached ??= { predefinedRoles: new Map(PREDEFINED_ROLES.map((r) => [r.name, r.permissions])) };
  return cached;
}
