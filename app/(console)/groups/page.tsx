import type { Metadata } from "next";
import Link from "next/link";
import { CreateGroupButton } from "@/components/groups/create-group";
import { FilterForm, linkClasses, NextPage, param, Refused } from "@/components/principals/list-controls";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import { requireSession } from "@/lib/auth/session";
import { getGroupsPage } from "@/lib/console/groups";

export const metadata: Metadata = { title: "Groups" };

export default async function GroupsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireSession();
  const sp = await searchParams;
  const q = param(sp.q);
  const pageToken = param(sp.pageToken);
  const page = await getGroupsPage({ ...(q ? { filter: q } : {}), ...(pageToken ? { pageToken } : {}) });
  return (
    <>
      <PageHeader
        eyebrow="Identity"
        title="Groups"
        description="Groups collect users, service accounts and other groups, so a role is granted once to the group instead of to each member."
        actions={page.ok && page.value.canCreate ? <CreateGroupButton /> : null}
      />
      {!page.ok ? (
        <Refused message={page.message} />
      ) : (
        <>
          <FilterForm label="Filter groups by email" placeholder="Filter by email…" q={q} />
          {page.value.groups.length === 0 ? (
            <EmptyState icon="users" title={q ? "No group matches" : "No groups yet"} description={q ? `No group's email contains “${q}”.` : "Create a group to grant roles to many principals at once."} />
          ) : (
            <Table aria-label="Groups">
              <TableHead>
                <tr>
                  <TableHeaderCell>Email</TableHeaderCell>
                  <TableHeaderCell>Name</TableHeaderCell>
                  <TableHeaderCell>Description</TableHeaderCell>
                </tr>
              </TableHead>
              <TableBody>
                {page.value.groups.map((g) => (
                  <TableRow key={g.email}>
                    <TableCell>
                      <Link href={`/groups/${encodeURIComponent(g.email)}`} className={linkClasses}>
                        {g.email}
                      </Link>
                    </TableCell>
                    <TableCell>{g.displayName || <span className="text-fg-subtle">—</span>}</TableCell>
                    <TableCell className="max-w-md truncate text-fg-muted">{g.description}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
          <NextPage href={page.value.nextPageToken ? `/groups?${new URLSearchParams({ ...(q ? { q } : {}), pageToken: page.value.nextPageToken })}` : null} />
        </>
      )}
    </>
  );
}
