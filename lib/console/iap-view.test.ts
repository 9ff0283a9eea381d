// The info panel's order and filter (what every keystroke runs over up to tens of thousands of rows).
import { describe, expect, it } from "vitest";
import { filterRows, sortRows, type IapPanelView } from "./iap-view";

const view: IapPanelView = {
  targets: [{ name: "projects/p/iap_web/compute/services/app", displayName: "App", etag: "AAAAAAAAAAE=", canEdit: true, hiddenAncestors: [] }],
  refused: [],
  members: ["user:zoe@x.test", "group:eng@x.test", "user:amy@x.test", "domain:x.test"],
  roles: [
    { name: "roles/viewer", title: "Viewer" },
    { name: "roles/iap.httpsResourceAccessor", title: "IAP-secured Web App User" },
  ],
  conditions: [{ title: "Docs only", expression: 'request.path.startsWith("/docs")' }],
  sources: ["organizations/1", "projects/p/iap_web/compute/services/app"],
  rows: [
    [0, 1, -1, 0, 1],
    [1, 1, 0, 1, 1],
    [2, 0, -1, 0, 1],
    [0, 1, -1, 1, 1],
    [3, 1, -1, 1, 1],
  ],
  grantableRoles: [],
  accessLevels: [],
};
const names = (rows: readonly IapPanelView["rows"][number][]) => rows.map((r) => `${view.roles[r[1]]!.title}|${view.members[r[0]]}|${view.sources[r[3]]}`);

describe("sortRows", () => {
  it("orders by role title, then grants on the resource before inherited ones, then member", () => {
    expect(names(sortRows(view))).toEqual([
      "IAP-secured Web App User|domain:x.test|projects/p/iap_web/compute/services/app",
      "IAP-secured Web App User|group:eng@x.test|projects/p/iap_web/compute/services/app",
      "IAP-secured Web App User|user:zoe@x.test|projects/p/iap_web/compute/services/app",
      "IAP-secured Web App User|user:zoe@x.test|organizations/1",
      "Viewer|user:amy@x.test|organizations/1",
    ]);
  });
});

describe("filterRows", () => {
  const sorted = sortRows(view);
  it("matches member, role title or name, condition title and source, case-insensitively", () => {
    expect(filterRows(view, sorted, "")).toBe(sorted);
    expect(names(filterRows(view, sorted, "ZOE"))).toHaveLength(2);
    expect(names(filterRows(view, sorted, "viewer"))).toEqual(["Viewer|user:amy@x.test|organizations/1"]);
    expect(names(filterRows(view, sorted, "docs only"))).toEqual(["IAP-secured Web App User|group:eng@x.test|projects/p/iap_web/compute/services/app"]);
    expect(filterRows(view, sorted, "organizations/1")).toHaveLength(2);
    expect(filterRows(view, sorted, "httpsResourceAccessor")).toHaveLength(4);
    expect(filterRows(view, sorted, "nobody")).toEqual([]);
  });
});
