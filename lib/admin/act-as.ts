// The guard against acquiring a credential of someone stronger (authz.ts rule 2, indirect form):
// minting a service-account key, or setting a console password the actor receives (a new
// account's one-time password, a reset), lets the actor act AS that principal. So it is judged
// as if every grant the principal has — directly, through every group it is in (nested), and
// through its domain — were granted to the actor itself: checkGrant with the actor as the member,
// passage permissions included. Grants every principal shares with the actor (allUsers,
// allAuthenticatedUsers) are left out. Pure.
import { AppError } from "@/lib/errors";
import { identityOf, type Snapshot } from "@/lib/policy";
import type { Actor } from "./context";
import { checkGrant, grantsNaming } from "./authz";

/**
 * Throws PERMISSION_DENIED unless acting as `target` (a member string: user:… or
 * serviceAccount:…) gives the actor nothing it does not hold already, judged on `before`.
 * `owners`: the instance owners (roles/owner on every organization, present and future): only an
 * instance owner may act as one.
 */
export function checkActAs(before: Snapshot, actor: Actor, target: string, owners: readonly string[], now: Date): void {
  if (actor.kind === "system" || actor.principal === target) return;
  const refuse = (why: string) =>
    new AppError("PERMISSION_DENIED", `You cannot obtain a credential of ${target}: ${why}; acting as it would give you more than you hold.`);
  const email = target.startsWith("user:") ? target.slice(5) : null;
  if (email && owners.includes(email)) {
    const me = actor.principal.startsWith("user:") ? actor.principal.slice(5) : null;
    if (!me || !owners.includes(me)) throw refuse("it is an instance owner and you are not");
  }
  const keys = identityOf(before, target).keys.filter((k) => k !== "allUsers" && k !== "allAuthenticatedUsers");
  const seen = new Set<string>();
  for (const key of keys) {
    for (const g of grantsNaming(before, key)) {
      const sig = `${g.resource}\u0000${g.role}`;
      if (seen.has(sig)) continue;
      seen.add(sig);
      try {
        checkGrant(before, before, actor, { resource: g.resource, role: g.role, member: actor.principal }, now);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        throw refuse(`it holds ${g.role} on ${g.resource}${key === target ? "" : ` (through ${key})`}, which carries permissions you do not hold there`);
      }
    }
  }
}
