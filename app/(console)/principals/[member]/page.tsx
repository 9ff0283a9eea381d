import type { Metadata } from "next";
import Link from "next/link";
import {
  deleteServiceAccountAction,
  deleteServiceAccountKeyAction,
  deleteUserAction,
  setServiceAccountDisabledAction,
  setUserDisabledAction,
} from "@/app/(console)/principals/actions";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { CreateKeyButton } from "@/components/principals/create-key";
import { HeldRolesTable } from "@/components/principals/held-roles";
import { linkClasses, Refused } from "@/components/principals/list-controls";
import { MemberLink, ViaPath } from "@/components/principals/member-link";
import { Badge } from "@/components/ui/badge";
import { buttonClasses } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { Code } from "@/components/ui/code";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui/table";
import { requireSession } from "@/lib/auth/session";
import { getPrincipalDetail } from "@/lib/console/principals";

export const metadata: Metadata = { title: "Principal" };

const eyebrow = (
  <Link href="/principals" className={linkClasses}>
    Principals
  </Link>
);

export default async function PrincipalPage({ params }: { params: Promise<{ member: string }> }) {
  await requireSession();
  const member = decodeURIComponent((await params).member);
  const detail = await getPrincipalDetail(member);
  if (!detail.ok) {
    return (
      <>
        <PageHeader eyebrow={eyebrow} title={member} />
        <Refused message={detail.message} />
      </>
    );
  }
  const d = detail.value;
  const email = d.kind === "user" ? d.user.email : d.account.email;
  const disabled = d.kind === "user" ? d.user.disabled : d.account.disabled;
  const name = d.kind === "user" ? d.user.displayName : d.account.displayName;
  const setDisabled = (d.kind === "user" ? setUserDisabledAction : setServiceAccountDisabledAction).bind(null, email, !disabled);
  const remove = (d.kind === "user" ? deleteUserAction : deleteServiceAccountAction).bind(null, email);
  const what = d.kind === "user" ? "user" : "service account";
  return (
    <>
      <PageHeader
        eyebrow={eyebrow}
        title={name || email}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <Code>{d.member}</Code>
            {disabled ? (
              <Badge tone="danger" dot>
                Disabled
              </Badge>
            ) : (
              <Badge tone="success" dot>
                Active
              </Badge>
            )}
            {d.kind === "user" && d.user.owner ? <Badge tone="accent">Instance owner</Badge> : null}
            {d.kind === "serviceAccount" ? <span>in project {d.account.projectId}</span> : null}
          </span>
        }
        actions={
          <>
            {d.canEdit ? (
              <ConfirmAction
                label={disabled ? "Enable" : "Disable"}
                size="md"
                tone={disabled ? "primary" : "danger"}
                title={`${disabled ? "Enable" : "Disable"} ${email}?`}
                confirmLabel={disabled ? "Enable" : "Disable"}
                action={setDisabled}
              >
                {disabled ? (
                  <p>Its bindings count again: it reaches what they grant.</p>
                ) : (
                  <p>
                    It is denied everywhere (reason <Code>PRINCIPAL_DISABLED</Code>)
                    {d.kind === "user" ? " and its console sessions end" : " and its keys get no tokens"}. Its bindings stay, for when it is enabled again.
                  </p>
                )}
              </ConfirmAction>
            ) : null}
            {d.canDelete ? (
              <ConfirmAction label={`Delete ${what}`} variant="danger" size="md" title={`Delete ${email}?`} confirmLabel={`Delete ${what}`} action={remove} then={`/principals?tab=${d.kind === "user" ? "users" : "serviceAccounts"}`}>
                <p>
                  Every binding and group membership naming it becomes <Code>deleted:{d.member}?uid=…</Code>, as IAM does: they grant nothing, and a new {what} with the same email will
                  not inherit them.
                </p>
                <p>{d.kind === "user" ? "Its console account and sessions go too." : "Its keys are deleted."} This cannot be undone.</p>
              </ConfirmAction>
            ) : null}
          </>
        }
      />

      <div className="space-y-6">
        <Card>
          <CardHeader
            title="Can reach"
            description="Resources it can pass through now (IAP, tunnels, invokers), for a request without host, path or client address; conditions that need those are not met here."
            actions={
              <Link href={`/effective-access?principal=${encodeURIComponent(d.member)}`} className={buttonClasses({ size: "sm" })}>
                Full effective access
              </Link>
            }
          />
          <CardBody>
            {d.reach.length === 0 ? (
              <EmptyState icon="shield" title="Reaches nothing" description="No resource you can inspect lets it through now." />
            ) : (
              <Table aria-label="Can reach">
                <TableHead>
                  <tr>
                    <TableHeaderCell>Resource</TableHeaderCell>
                    <TableHeaderCell>Granted by</TableHeaderCell>
                    <TableHeaderCell>Through</TableHeaderCell>
                  </tr>
                </TableHead>
                <TableBody>
                  {d.reach.map((r) => (
                    <TableRow key={r.resource}>
                      <TableCell>
                        <div className="font-medium">{r.displayName || r.resource}</div>
                        <div className="font-mono text-xs break-all text-fg-muted">{r.resource}</div>
                      </TableCell>
                      <TableCell>
                        <div>{r.grantedBy.role}</div>
                        <div className="text-xs text-fg-muted">
                          on <span className="font-mono">{r.grantedBy.resource}</span>
                          {r.grantedBy.condition ? <> if “{r.grantedBy.condition}”</> : null}
                        </div>
                      </TableCell>
                      <TableCell>
                        <MemberLink member={r.grantedBy.member} />
                        <div className="text-xs">
                          <ViaPath via={r.via} />
                        </div>
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </CardBody>
        </Card>

        <Card>
          <CardHeader title="Roles held" description="Every binding naming it, a group containing it, its domain or everyone, on resources whose policy you may read." />
          <CardBody>
            <HeldRolesTable roles={d.roles} subject={d.member} />
          </CardBody>
        </Card>

        {d.kind === "serviceAccount" && d.keys !== null ? (
          <Card>
            <CardHeader title="Keys" description="JSON keys exchange for ID tokens at Gatehouse's token endpoint. Gatehouse stores only their public halves." actions={d.canCreateKey ? <CreateKeyButton email={email} /> : null} />
            <CardBody>
              {d.keys.length === 0 ? (
                <EmptyState icon="key" title="No keys" description="This service account has no keys." />
              ) : (
                <Table aria-label="Keys">
                  <TableHead>
                    <tr>
                      <TableHeaderCell>Key id</TableHeaderCell>
                      <TableHeaderCell>Algorithm</TableHeaderCell>
                      <TableHeaderCell>Created</TableHeaderCell>
                      <TableHeaderCell>State</TableHeaderCell>
                      {d.canDeleteKey ? <TableHeaderCell className="text-right">Actions</TableHeaderCell> : null}
                    </tr>
                  </TableHead>
                  <TableBody>
                    {d.keys.map((k) => (
                      <TableRow key={k.id}>
                        <TableCell className="font-mono text-xs">{k.id}</TableCell>
                        <TableCell>{k.algorithm}</TableCell>
                        <TableCell className="text-fg-muted">{k.createdAt.slice(0, 16).replace("T", " ")}</TableCell>
                        <TableCell>{k.disabled ? <Badge tone="danger">Disabled</Badge> : <Badge tone="success">Enabled</Badge>}</TableCell>
                        {d.canDeleteKey ? (
                          <TableCell className="text-right">
                            <ConfirmAction label="Delete" ariaLabel={`Delete key ${k.id}`} variant="ghost" title="Delete this key?" confirmLabel="Delete key" action={deleteServiceAccountKeyAction.bind(null, email, k.id)}>
                              <p>
                                Key <Code>{k.id.slice(0, 16)}…</Code> stops working at once; ID tokens it already obtained stay valid until they expire (at most an hour).
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
        ) : null}
      </div>
    </>
  );
}
