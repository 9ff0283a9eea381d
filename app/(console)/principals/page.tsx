import type { Metadata } from "next";
import Link from "next/link";
import { CreateServiceAccountButton } from "@/components/principals/create-service-account";
import { CreateUserButton } from "@/components/principals/create-user";
import { FilterForm, linkClasses, NextPage, param, Refused } from "@/components/principals/list-controls";
import { Badge } from "@/components/ui/badge";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import { Tabs } from "@/components/ui/tabs";
import { requireSession } from "@/lib/auth/session";
import { getServiceAccountsPage, getUsersPage } from "@/lib/console/principals";

export const metadata: Metadata = { title: "Principals" };

function StateBadge({ disabled }: { disabled: boolean }) {
  return disabled ? (
    <Badge tone="danger" dot>
      Disabled
    </Badge>
  ) : (
    <Badge tone="success" dot>
      Active
    </Badge>
  );
}

const profile = (member: string) => `/principals/${encodeURIComponent(member)}`;

export default async function PrincipalsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireSession();
  const sp = await searchParams;
  const tab = param(sp.tab) === "serviceAccounts" ? "serviceAccounts" : "users";
  const q = param(sp.q);
  const pageToken = param(sp.pageToken);
  const filter = q ? { filter: q } : {};
  const users = tab === "users" ? await getUsersPage({ ...filter, ...(pageToken ? { pageToken } : {}) }) : null;
  const accounts = tab === "serviceAccounts" ? await getServiceAccountsPage(filter) : null;
  const action =
    users?.ok && users.value.canCreate ? <CreateUserButton /> : accounts?.ok && accounts.value.creatableIn.length > 0 ? <CreateServiceAccountButton projects={accounts.value.creatableIn} /> : null;
  return (
    <>
      <PageHeader
        eyebrow="Identity"
        title="Principals"
        description="Users sign in to the console and to IAP-secured apps; service accounts are identities for software, authenticated with keys. Disabled principals are denied everywhere."
        actions={action}
      >
        <Tabs
          label="Principal kinds"
          current={`/principals?tab=${tab}`}
          items={[
            { href: "/principals?tab=users", label: "Users" },
            { href: "/principals?tab=serviceAccounts", label: "Service accounts" },
          ]}
        />
      </PageHeader>
      <FilterForm label="Filter by email" placeholder="Filter by email…" q={q} hidden={{ tab }} />
      {users ? (
        !users.ok ? (
          <Refused message={users.message} />
        ) : users.value.users.length === 0 ? (
          <EmptyState icon="user" title={q ? "No user matches" : "No users yet"} />
        ) : (
          <>
            <Table aria-label="Users">
              <TableHead>
                <tr>
                  <TableHeaderCell>Email</TableHeaderCell>
                  <TableHeaderCell>Name</TableHeaderCell>
                  <TableHeaderCell>Console sign-in</TableHeaderCell>
                  <TableHeaderCell>State</TableHeaderCell>
                </tr>
              </TableHead>
              <TableBody>
                {users.value.users.map((u) => (
                  <TableRow key={u.email}>
                    <TableCell>
                      <Link href={profile(u.principal)} className={linkClasses}>
                        {u.email}
                      </Link>
                      {u.owner ? (
                        <Badge tone="accent" className="ml-2">
                          Instance owner
                        </Badge>
                      ) : null}
                    </TableCell>
                    <TableCell>{u.displayName || <span className="text-fg-subtle">—</span>}</TableCell>
                    <TableCell className="text-fg-muted">
                      {!u.consoleAccount ? "none" : [u.consoleAccount.password === "one-time" ? "one-time password" : u.consoleAccount.password === "set" ? "password" : null, u.consoleAccount.sso ? "SSO" : null].filter(Boolean).join(", ") || "none"}
                    </TableCell>
                    <TableCell>
                      <StateBadge disabled={u.disabled} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
            <NextPage href={users.value.nextPageToken ? `/principals?${new URLSearchParams({ tab, ...(q ? { q } : {}), pageToken: users.value.nextPageToken })}` : null} />
          </>
        )
      ) : accounts && !accounts.ok ? (
        <Refused message={accounts.message} />
      ) : accounts && accounts.value.accounts.length === 0 ? (
        <EmptyState icon="key" title={q ? "No service account matches" : "No service accounts yet"} />
      ) : accounts ? (
        <>
          <Table aria-label="Service accounts">
            <TableHead>
              <tr>
                <TableHeaderCell>Email</TableHeaderCell>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Project</TableHeaderCell>
                <TableHeaderCell>State</TableHeaderCell>
              </tr>
            </TableHead>
            <TableBody>
              {accounts.value.accounts.map((a) => (
                <TableRow key={a.email}>
                  <TableCell>
                    <Link href={profile(`serviceAccount:${a.email}`)} className={linkClasses}>
                      {a.email}
                    </Link>
                  </TableCell>
                  <TableCell>{a.displayName || <span className="text-fg-subtle">—</span>}</TableCell>
                  <TableCell className="font-mono text-xs">{a.projectId}</TableCell>
                  <TableCell>
                    <StateBadge disabled={a.disabled} />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          {accounts.value.truncated ? <p className="mt-2 text-xs text-fg-subtle">Showing the first 200 of each project; filter to narrow the list.</p> : null}
        </>
      ) : null}
    </>
  );
}
