import type { Metadata } from "next";
import Link from "next/link";
import { removeGroupMemberAction, deleteGroupAction } from "@/app/(console)/groups/actions";
import { AddMemberForm } from "@/components/groups/add-member";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { FilterForm, linkClasses, param, Refused } from "@/components/principals/list-controls";
import { HeldRolesTable } from "@/components/principals/held-roles";
import { MemberLink } from "@/components/principals/member-link";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Code } from "@/components/ui/code";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import { Tabs } from "@/components/ui/tabs";
import { requireSession } from "@/lib/auth/session";
import { getGroupDetail } from "@/lib/console/groups";

export const metadata: Metadata = { title: "Group" };

const TABS = ["members", "effective", "roles"] as const;

export default async function GroupPage({ params, searchParams }: { params: Promise<{ email: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireSession();
  const email = decodeURIComponent((await params).email);
  const sp = await searchParams;
  const tab = (TABS as readonly string[]).includes(param(sp.tab)) ? (param(sp.tab) as (typeof TABS)[number]) : "members";
  const q = param(sp.q);
  const detail = await getGroupDetail(email, { ...(q ? { filter: q } : {}) });
  const base = `/groups/${encodeURIComponent(email)}`;
  if (!detail.ok) {
    return (
      <>
        <PageHeader
          eyebrow={
            <Link href="/groups" className={linkClasses}>
              Groups
            </Link>
          }
          title={email}
        />
        <Refused message={detail.message} />
      </>
    );
  }
  const d = detail.value;
  return (
    <>
      <PageHeader
        eyebrow={
          <Link href="/groups" className={linkClasses}>
            Groups
          </Link>
        }
        title={d.group.displayName || d.group.email}
        description={
          <>
            <Code>group:{d.group.email}</Code>
            {d.group.description ? <span className="ml-2">{d.group.description}</span> : null}
          </>
        }
        actions={
          d.canDelete ? (
            <ConfirmAction label="Delete group" variant="danger" size="md" title={`Delete ${d.group.email}?`} confirmLabel="Delete group" action={deleteGroupAction.bind(null, d.group.email)} then="/groups">
              <p>Its {d.members.length} direct memberships end, and every member loses what the group granted.</p>
              <p>
                Bindings and memberships that name it become <Code>deleted:group:{d.group.email}?uid=…</Code>, as in IAM: a new group with the same email will not inherit
                them.
              </p>
            </ConfirmAction>
          ) : null
        }
      >
        <Tabs
          label="Group sections"
          current={`${base}?tab=${tab}`}
          items={[
            { href: `${base}?tab=members`, label: "Members", count: d.members.length },
            { href: `${base}?tab=effective`, label: "Effective members", count: d.effective.length },
            { href: `${base}?tab=roles`, label: "Roles held", count: d.roles.length },
          ]}
        />
      </PageHeader>

      {tab === "members" ? (
        <Card>
          <CardHeader title="Direct members" description="Users, service accounts and nested groups listed in this group." />
          <CardBody className="space-y-4">
            {d.canEdit ? <AddMemberForm group={d.group.email} suggestions={d.suggestions} /> : null}
            {d.members.length === 0 ? (
              <EmptyState icon="users" title="No members" description="This group has no members yet." />
            ) : (
              <Table aria-label="Direct members">
                <TableHead>
                  <tr>
                    <TableHeaderCell>Member</TableHeaderCell>
                    <TableHeaderCell>Type</TableHeaderCell>
                    <TableHeaderCell>Added</TableHeaderCell>
                    {d.canEdit ? <TableHeaderCell className="text-right">Actions</TableHeaderCell> : null}
                  </tr>
                </TableHead>
                <TableBody>
                  {d.members.map((m) => (
                    <TableRow key={m.member}>
                      <TableCell>
                        <MemberLink member={m.member} />
                      </TableCell>
                      <TableCell>
                        <Badge tone={m.type === "GROUP" ? "accent" : "neutral"}>{m.type.replace("_", " ").toLowerCase()}</Badge>
                      </TableCell>
                      <TableCell className="text-fg-muted">{m.createTime.slice(0, 10)}</TableCell>
                      {d.canEdit ? (
                        <TableCell className="text-right">
                          <ConfirmAction
                            label="Remove"
                            ariaLabel={`Remove ${m.member}`}
                            variant="ghost"
                            title={`Remove ${m.member}?`}
                            confirmLabel="Remove member"
                            action={removeGroupMemberAction.bind(null, d.group.email, m.member)}
                          >
                            <p>
                              {m.member} loses every role it holds through {d.group.email}
                              {m.type === "GROUP" ? ", and so do its members" : ""}.
                            </p>
                          </ConfirmAction>
                        </TableCell>
                      ) : null}
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </CardBody>
        </Card>
      ) : tab === "effective" ? (
        <Card>
          <CardHeader title="Effective members" description="Everyone in the group through any nesting: direct, indirect (through nested groups), or both." />
          <CardBody>
            <FilterForm label="Filter members" placeholder="Filter by member…" q={q} hidden={{ tab }} />
            {d.effective.length === 0 ? (
              <EmptyState icon="users" title="No members" />
            ) : (
              <Table aria-label="Effective members">
                <TableHead>
                  <tr>
                    <TableHeaderCell>Member</TableHeaderCell>
                    <TableHeaderCell>Type</TableHeaderCell>
                    <TableHeaderCell>Relation</TableHeaderCell>
                  </tr>
                </TableHead>
                <TableBody>
                  {d.effective.map((m) => (
                    <TableRow key={m.member}>
                      <TableCell>
                        <MemberLink member={m.member} />
                      </TableCell>
                      <TableCell className="text-fg-muted">{m.type.replace("_", " ").toLowerCase()}</TableCell>
                      <TableCell>
                        <Badge tone={m.relationType === "INDIRECT" ? "info" : "neutral"}>{m.relationType.replaceAll("_", " ").toLowerCase()}</Badge>
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
            {d.effectiveNext ? <p className="mt-2 text-xs text-fg-subtle">Showing the first 200; filter to narrow the list.</p> : null}
          </CardBody>
        </Card>
      ) : (
        <Card>
          <CardHeader title="Roles held" description="Bindings that name this group or a group containing it, on resources whose policy you may read." />
          <CardBody>
            <HeldRolesTable roles={d.roles} subject={`group:${d.group.email}`} />
          </CardBody>
        </Card>
      )}
    </>
  );
}
