import type { Metadata } from "next";
import Link from "next/link";
import { deleteRoleAction } from "@/app/(console)/roles/actions";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { linkClasses, Refused } from "@/components/principals/list-controls";
import { EditRoleButton } from "@/components/roles/role-form";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Code } from "@/components/ui/code";
import { PageHeader } from "@/components/ui/page-header";
import { requireSession } from "@/lib/auth/session";
import { getRoleDetail } from "@/lib/console/roles";

export const metadata: Metadata = { title: "Role" };

const eyebrow = (
  <Link href="/roles" className={linkClasses}>
    Roles
  </Link>
);

export default async function RolePage({ params }: { params: Promise<{ name: string[] }> }) {
  await requireSession();
  const name = (await params).name.map(decodeURIComponent).join("/");
  const detail = await getRoleDetail(name);
  if (!detail.ok) {
    return (
      <>
        <PageHeader eyebrow={eyebrow} title={name} />
        <Refused message={detail.message} />
      </>
    );
  }
  const { role, custom, canEdit, canDelete, permissions } = detail.value;
  const perms = role.includedPermissions ?? [];
  return (
    <>
      <PageHeader
        eyebrow={eyebrow}
        title={role.title || role.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <Code>{role.name}</Code>
            <Badge tone={custom ? "accent" : "neutral"}>{custom ? "Custom" : "Predefined"}</Badge>
            <Badge tone={role.stage === "DISABLED" || role.deleted ? "danger" : "neutral"}>{role.deleted ? "Deleted" : role.stage}</Badge>
            {role.description ? <span>{role.description}</span> : null}
          </span>
        }
        actions={
          <>
            {canEdit ? <EditRoleButton role={role} permissions={permissions} /> : null}
            {canDelete ? (
              <ConfirmAction label="Delete role" variant="danger" size="md" title={`Delete ${role.name}?`} confirmLabel="Delete role" action={deleteRoleAction.bind(null, role.name)} then="/roles">
                <p>Every binding of this role stops granting at once. The bindings stay and the name stays taken, so a new role cannot inherit them; the role can be undeleted.</p>
              </ConfirmAction>
            ) : null}
          </>
        }
      />
      <Card>
        <CardHeader title="Permissions" description={`${perms.length} permission${perms.length === 1 ? "" : "s"}`} />
        <CardBody>
          <ul className="grid gap-x-6 gap-y-1 font-mono text-xs sm:grid-cols-2" aria-label="Permissions">
            {perms.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </CardBody>
      </Card>
    </>
  );
}
