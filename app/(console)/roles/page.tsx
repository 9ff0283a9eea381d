import type { Metadata } from "next";
import Link from "next/link";
import { FilterForm, linkClasses, param, Refused } from "@/components/principals/list-controls";
import { CreateRoleButton } from "@/components/roles/role-form";
import { Badge } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import type { RoleJson } from "@/lib/admin/roles";
import { requireSession } from "@/lib/auth/session";
import { getRolesPage } from "@/lib/console/roles";

export const metadata: Metadata = { title: "Roles" };

function RolesTable({ roles, label, q }: { roles: RoleJson[]; label: string; q: string }) {
  return (
    <Table aria-label={label} frameClassName="rounded-t-none border-0 border-t shadow-none">
      <TableHead>
        <tr>
          <TableHeaderCell>Role</TableHeaderCell>
          <TableHeaderCell>Title</TableHeaderCell>
          <TableHeaderCell>Permissions</TableHeaderCell>
        </tr>
      </TableHead>
      <TableBody>
        {roles.map((r) => {
          const perms = r.includedPermissions ?? [];
          const hits = q ? perms.filter((p) => p.toLowerCase().includes(q.toLowerCase())) : [];
          return (
            <TableRow key={r.name}>
              <TableCell>
                <Link href={`/roles/${r.name}`} className={linkClasses}>
                  {r.name}
                </Link>
                {r.stage !== "GA" ? (
                  <Badge tone={r.stage === "DISABLED" ? "danger" : "warning"} className="ml-2">
                    {r.stage}
                  </Badge>
                ) : null}
              </TableCell>
              <TableCell>{r.title || <span className="text-fg-subtle">—</span>}</TableCell>
              <TableCell className="text-fg-muted">
                {perms.length}
                {hits.length > 0 ? <span className="ml-2 font-mono text-xs">({hits.slice(0, 3).join(", ")}{hits.length > 3 ? ", …" : ""})</span> : null}
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

export default async function RolesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireSession();
  const q = param((await searchParams).q);
  const page = await getRolesPage(q ? { q } : {});
  return (
    <>
      <PageHeader
        eyebrow="Identity"
        title="Roles"
        description="A role bundles permissions; a binding grants a role to members on a resource. Predefined roles carry IAM's names; custom roles live on an organization or a project."
        actions={page.ok && page.value.creatableIn.length > 0 ? <CreateRoleButton parents={page.value.creatableIn} permissions={page.value.permissions} /> : null}
      />
      {!page.ok ? (
        <Refused message={page.message} />
      ) : (
        <div className="space-y-6">
          <FilterForm label="Search roles and permissions" placeholder="Search by role, title or permission…" q={q} />
          <Card>
            <CardHeader title="Custom roles" description={`${page.value.custom.length} on the organizations and projects where you may list roles`} />
            {page.value.custom.length === 0 ? (
              <div className="p-4">
                <EmptyState icon="key" title={q ? "No custom role matches" : "No custom roles"} />
              </div>
            ) : (
              <RolesTable roles={page.value.custom} label="Custom roles" q={q} />
            )}
          </Card>
          <Card>
            <CardHeader title="Predefined roles" description="IAM's roles and permissions, as Google names them." />
            {page.value.predefined.length === 0 ? (
              <div className="p-4">
                <EmptyState icon="key" title="No predefined role matches" />
              </div>
            ) : (
              <RolesTable roles={page.value.predefined} label="Predefined roles" q={q} />
            )}
          </Card>
        </div>
      )}
    </>
  );
}
