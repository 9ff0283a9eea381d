import type { Metadata } from "next";
import { deleteAccessLevelAction } from "@/app/(console)/access-levels/actions";
import { CreateLevelButton, EditLevelButton } from "@/components/access-levels/level-form";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { FilterForm, NextPage, param, Refused } from "@/components/principals/list-controls";
import { Badge } from "@/components/ui/badge";
import { Code } from "@/components/ui/code";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import type { AccessLevelJson } from "@/lib/admin/access-levels";
import { requireSession } from "@/lib/auth/session";
import { getAccessLevelsPage } from "@/lib/console/access-levels";

export const metadata: Metadata = { title: "Access levels" };

/** One line per condition: what it tests, negated or not. */
function Definition({ level }: { level: AccessLevelJson }) {
  if (level.custom) return <Code className="break-all">{level.custom.expr.expression}</Code>;
  const b = level.basic!;
  return (
    <ul className="space-y-0.5 text-xs">
      {b.conditions.map((c, i) => {
        const parts = [
          c.ipSubnetworks?.length ? `IP in ${c.ipSubnetworks.join(", ")}` : null,
          c.regions?.length ? `region in ${c.regions.join(", ")}` : null,
          c.members?.length ? `member is ${c.members.join(", ")}` : null,
          c.requiredAccessLevels?.length ? `meets ${c.requiredAccessLevels.map((n) => n.split("/").at(-1)).join(", ")}` : null,
        ].filter(Boolean);
        return (
          <li key={i}>
            {i > 0 ? <span className="font-semibold">{b.combiningFunction ?? "AND"} </span> : null}
            {c.negate ? <span className="font-semibold">NOT </span> : null}({parts.join(" and ")})
          </li>
        );
      })}
    </ul>
  );
}

export default async function AccessLevelsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireSession();
  const sp = await searchParams;
  const q = param(sp.q);
  const pageToken = param(sp.pageToken);
  const page = await getAccessLevelsPage({ ...(q ? { filter: q } : {}), ...(pageToken ? { pageToken } : {}) });
  const names = page.ok ? page.value.levels.map((l) => l.name) : [];
  const policy = names[0]?.split("/")[1] ?? "1";
  return (
    <>
      <PageHeader
        eyebrow="Access"
        title="Access levels"
        description={
          <>
            Context-aware access: a level holds for a request from the right network, region or principal. Conditions test it, e.g.{" "}
            <Code>&apos;accessPolicies/1/accessLevels/corp&apos; in request.auth.access_levels</Code>.
          </>
        }
        actions={page.ok && page.value.canCreate ? <CreateLevelButton levels={names} policy={policy} /> : null}
      />
      {!page.ok ? (
        <Refused message={page.message} />
      ) : (
        <>
          <FilterForm label="Filter access levels by name" placeholder="Filter by name…" q={q} />
          {page.value.levels.length === 0 ? (
            <EmptyState icon="lock" title={q ? "No access level matches" : "No access levels yet"} description="Create one to require a corporate network, a region or specific principals." />
          ) : (
            <Table aria-label="Access levels">
              <TableHead>
                <tr>
                  <TableHeaderCell>Level</TableHeaderCell>
                  <TableHeaderCell>Kind</TableHeaderCell>
                  <TableHeaderCell>Definition</TableHeaderCell>
                  {page.value.canEdit || page.value.canDelete ? <TableHeaderCell className="text-right">Actions</TableHeaderCell> : null}
                </tr>
              </TableHead>
              <TableBody>
                {page.value.levels.map((l) => (
                  <TableRow key={l.name}>
                    <TableCell className="align-top">
                      <div className="font-medium">{l.title || l.name.split("/").at(-1)}</div>
                      <div className="font-mono text-xs text-fg-muted">{l.name}</div>
                    </TableCell>
                    <TableCell className="align-top">
                      <Badge tone={l.custom ? "info" : "neutral"}>{l.custom ? "Custom (CEL)" : "Basic"}</Badge>
                    </TableCell>
                    <TableCell className="max-w-md align-top">
                      <Definition level={l} />
                    </TableCell>
                    {page.value.canEdit || page.value.canDelete ? (
                      <TableCell className="text-right align-top whitespace-nowrap">
                        {page.value.canEdit ? <EditLevelButton level={l} levels={names} /> : null}
                        {page.value.canDelete ? (
                          <ConfirmAction label="Delete" ariaLabel={`Delete ${l.name}`} variant="ghost" title={`Delete ${l.name}?`} confirmLabel="Delete level" action={deleteAccessLevelAction.bind(null, l.name)}>
                            <p>
                              A level that a binding&apos;s condition, a deny rule or another level still names cannot be deleted (a condition testing a missing level could grant more): Gatehouse
                              refuses and lists them.
                            </p>
                          </ConfirmAction>
                        ) : null}
                      </TableCell>
                    ) : null}
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
          <NextPage href={page.value.nextPageToken ? `/access-levels?${new URLSearchParams({ ...(q ? { q } : {}), pageToken: page.value.nextPageToken })}` : null} />
        </>
      )}
    </>
  );
}
