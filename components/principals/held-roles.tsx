import Link from "next/link";
import type { HeldRole } from "@/lib/console/grants";
import { Badge } from "@/components/ui/badge";
import { EmptyState } from "@/components/ui/empty-state";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import { linkClasses } from "./list-controls";
import { MemberLink, ViaPath } from "./member-link";

/** Where a principal or group holds roles: resource, role, the member the binding names and the group path to it. */
export function HeldRolesTable({ roles, subject }: { roles: HeldRole[]; subject: string }) {
  if (roles.length === 0) return <EmptyState icon="key" title="No roles" description={`No binding you can see names ${subject}, a group containing it, or its domain.`} />;
  return (
    <Table aria-label="Roles held">
      <TableHead>
        <tr>
          <TableHeaderCell>Resource</TableHeaderCell>
          <TableHeaderCell>Role</TableHeaderCell>
          <TableHeaderCell>Binding names</TableHeaderCell>
          <TableHeaderCell>Condition</TableHeaderCell>
        </tr>
      </TableHead>
      <TableBody>
        {roles.map((r) => (
          <TableRow key={`${r.resource} ${r.role} ${r.member} ${r.condition}`}>
            <TableCell className="font-mono text-xs break-all">{r.resource}</TableCell>
            <TableCell>
              <Link href={`/roles/${r.role}`} className={linkClasses}>
                {r.role}
              </Link>
            </TableCell>
            <TableCell>
              <MemberLink member={r.member} />
              <div className="text-xs">
                <ViaPath via={r.via} />
              </div>
            </TableCell>
            <TableCell>{r.condition ? <Badge tone="warning">{r.condition}</Badge> : <span className="text-fg-subtle">—</span>}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
