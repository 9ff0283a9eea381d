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

