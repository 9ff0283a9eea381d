// The Access levels section's view model: every level (instance-wide reads, as lib/admin
// authorises them) and whether the viewer may create, change or delete them.
import { listAccessLevels, type AccessLevelJson } from "@/lib/admin/access-levels";
import { ZPageQuery } from "@/lib/admin/paging";
import { allowed, readable, viewer, type Readable } from "./identity";

export interface AccessLevelsPage {
  levels: AccessLevelJson[];
  nextPageToken?: string;
  canCreate: boolean;
  canEdit: boolean;
  canDelete: boolean;
}

export async function getAccessLevelsPage(params: { filter?: string; pageToken?: string }): Promise<Readable<AccessLevelsPage>> {
  const { ctx, r } = await viewer();
  return readable(async () => {
    const page = await listAccessLevels(ctx, "-", ZPageQuery.parse({ pageSize: 200, ...params }));
    const [canCreate, canEdit, canDelete] = await Promise.all(
      (["create", "update", "delete"] as const).map((verb) => allowed(() => r.requireInstance(`accesscontextmanager.accessLevels.${verb}`))),
    );
    return { levels: page.accessLevels, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}), canCreate: canCreate!, canEdit: canEdit!, canDelete: canDelete! };
  });
}
