// Who may use the console is decided by IAM on the same engine that serves the proxies: a signed-in
// user sees the projects on which they hold resourcemanager.projects.get (Viewer, Editor, Owner,
// IAP Policy Admin, the log viewers… on the project or any ancestor), and nothing else. An auditor
// whose role carries only the log permissions (logging.logEntries.list, e.g. a custom role) gets
// in as well, read-only: what each page shows and lets them change is decided next to its data.
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

/** Permission that lets an auditor into the console even without resourcemanager.projects.get. */
export const AUDITOR_PERMISSION = "logging.logEntries.list";

/** Whether the principal may use the console at all (see the top of this file). */
export function hasConsoleAccess(principal: string): boolean {
  const q = engineQueries();
  return q.whatCan(principal, CONSOLE_PERMISSION).some((e) => PROJECT.test(e.resource)) || q.whatCan(principal, AUDITOR_PERMISSION).length > 0;
}
