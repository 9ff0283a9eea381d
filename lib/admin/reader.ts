// The read side's authorisation: what a list or get checks, on the engine's current snapshot
// (reads take no lock; they see the newest revision this instance has applied).
import type { Snapshot } from "@/lib/policy";
import type { AdminContext } from "./context";
import { authorize, authorizeForDomain, authorizeInstance } from "./authz";
import { domainOrganizations } from "./mutation";

export interface Reader {
  /** Null for a system actor without an engine. */
  snapshot: Snapshot | null;
  require(permission: string, resource: string): void;
  requireInstance(permission: string): void;
  requireForDomain(permission: string, email: string): Promise<void>;
  /** Whether the actor holds `permission` on `resource` (for filtering lists to what one may see). */
  can(permission: string, resource: string): boolean;
}

export function reader(ctx: AdminContext): Reader {
  const state = ctx.engine?.current() ?? null;
  const snapshot = state?.snapshot ?? null;
  const now = new Date();
  const { actor } = ctx;
  const require = (permission: string, resource: string) => authorize(snapshot, actor, permission, resource, now);
  return {
    snapshot,
    require,
    requireInstance: (permission) => authorizeInstance(snapshot, state?.owners ?? [], actor, permission, now),
    requireForDomain: async (permission, email) => {
      if (actor.kind === "system") return;
      authorizeForDomain(snapshot, state?.owners ?? [], await domainOrganizations(ctx.db), actor, permission, email, now);
    },
    can: (permission, resource) => {
      try {
        require(permission, resource);
        return true;
      } catch {
        return false;
      }
    },
  };
}
