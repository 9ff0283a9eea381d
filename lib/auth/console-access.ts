// Who may use the console is decided by IAM on the same engine that serves the proxies: a signed-in
// user sees the projects on which they hold resourcemanager.projects.get (Viewer, Editor, Owner,
// IAP Policy Admin, the log viewers… on the project or any ancestor), and nothing else.
import { engineQueries } from "@/lib/decide/registry";

export const CONSOLE_PERMISSION = "resourcemanager.projects.get";

const PROJECT = /^projects\/[^/]+$/;

/** Projects the principal may see in the console (empty: no console access). */
export function visibleProjects(principal: string): string[] {
  return engineQueries()
    .whatCan(principal, CONSOLE_PERMISSION)
    .map((e) => e.resource)
    .filter((r) => PROJECT.test(r));
}
