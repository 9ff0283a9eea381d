// The IAP panel's view-model shapes (lib/console/iap.ts builds them), free of server imports so
// client components can use them.

/** At most this many resources are shown together (the info panel of a multiple selection). */
export const MAX_SELECTION = 20;

export interface PanelTarget {
  name: string;
  displayName: string;
  /** The etag of its own policy as read now (null: the viewer may not read it). */
  etag: string | null;
  /** The viewer may set its policy (add / remove principals). */
  canEdit: boolean;
  /** Ancestors with bindings the viewer may not read (their bindings are not listed). */
  hiddenAncestors: string[];
}

/** [member, role, condition (−1 = none), source resource, bitmask of the targets it applies to]. */
export type PanelRow = [member: number, role: number, condition: number, source: number, targets: number];

export interface IapPanelView {
  targets: PanelTarget[];
  /** Selected names that do not exist or that the viewer may not see (the same answer for both). */
  refused: string[];
  members: string[];
  roles: Array<{ name: string; title: string }>;
  conditions: Array<{ title: string; expression: string; description?: string }>;
  sources: string[];
  rows: PanelRow[];
  /** What the add-principal form offers: roles grantable here and the access levels for conditions. */
  grantableRoles: Array<{ name: string; title: string }>;
  accessLevels: Array<{ name: string; title: string }>;
}

export const IAP_ROLE = "roles/iap.httpsResourceAccessor";


/** Rows in the panel's order: role title, then grants on a selected resource before inherited ones, then member. */
export function sortRows(view: IapPanelView): PanelRow[] {
  const targets = new Set(view.targets.map((t) => t.name));
  const direct = view.sources.map((s) => (targets.has(s) ? 0 : 1));
  // Roles ranked once (a few titles), so the ten thousand rows compare integers and member strings.
  const rank: number[] = [];
  [...view.roles.keys()].sort((a, b) => view.roles[a]!.title.localeCompare(view.roles[b]!.title) || a - b).forEach((ri, k) => (rank[ri] = k));
  const m = view.members;
  return [...view.rows].sort((a, b) => rank[a[1]]! - rank[b[1]]! || direct[a[3]]! - direct[b[3]]! || (m[a[0]]! < m[b[0]]! ? -1 : m[a[0]]! > m[b[0]]! ? 1 : 0));
}

/** The rows whose member, role (title or name), condition title or source contains `query` (case-insensitive). */
export function filterRows(view: IapPanelView, rows: readonly PanelRow[], query: string): readonly PanelRow[] {
  const q = query.trim().toLowerCase();
  if (!q) return rows;
  const hit = (s: string | undefined) => s !== undefined && s.toLowerCase().includes(q);
  // Each string is tested once, not once per row that names it.
  const roleHit = view.roles.map((r) => hit(r.title) || hit(r.name));
  const condHit = view.conditions.map((c) => hit(c.title));
  const memberHit = view.members.map((m) => hit(m));
  const sourceHit = view.sources.map((s) => hit(s));
  return rows.filter((r) => memberHit[r[0]] || roleHit[r[1]] || (r[2] >= 0 && condHit[r[2]]) || sourceHit[r[3]]);
}
