"use client";

import { useState } from "react";
import { deleteIssuerAction, saveIssuerAction } from "@/app/(console)/settings/actions";
import { Alert, Badge, Button, Card, CardHeader, Code, Dialog, Field, Input, LiveRegion, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow, inputClasses } from "@/components/ui";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { fieldError } from "@/lib/console/action-result";
import { useFormAction } from "@/lib/console/use-form-action";
import type { TrustedIssuerJson } from "@/lib/admin/issuers";

function IssuerDialog({ issuer, onClose }: { issuer: TrustedIssuerJson | null; onClose: () => void }) {
  const { state, pending, onSubmit } = useFormAction(saveIssuerAction, onClose);
  const err = (f: string) => fieldError(state ?? undefined, f);
  return (
    <Dialog open onClose={onClose} title={issuer ? "Edit trusted issuer" : "Add a trusted issuer"} description="An OpenID issuer whose ID tokens identify principals of the email domains it lists.">
      <form onSubmit={onSubmit} className="space-y-4">
        <LiveRegion>{state && !state.ok && !state.details ? <Alert tone="error">{state.message}</Alert> : null}</LiveRegion>
        {issuer ? <input type="hidden" name="original" value={issuer.issuer} /> : null}
        <Field id="iss-issuer" label="Issuer" required={!issuer} hint={issuer ? "An issuer’s URL cannot change: add another instead." : "https, except on loopback"} error={err("issuer")}>
          {(p) => <Input {...p} name="issuer" defaultValue={issuer?.issuer ?? ""} readOnly={Boolean(issuer)} placeholder="https://idp.example.com" autoComplete="off" spellCheck={false} autoFocus={!issuer} />}
        </Field>
        <Field id="iss-audiences" label="Audiences" required hint="The aud values Gatehouse accepts, one per line or comma-separated" error={err("audiences")}>
          {(p) => <textarea {...p} name="audiences" rows={2} defaultValue={issuer?.audiences.join("\n") ?? ""} className={`${inputClasses} h-auto py-1.5`} spellCheck={false} autoFocus={Boolean(issuer)} />}
        </Field>
        <Field id="iss-domains" label="Email domains" required hint="The domains whose users this issuer may assert (exact)" error={err("domains")}>
          {(p) => <textarea {...p} name="domains" rows={2} defaultValue={issuer?.domains.join("\n") ?? ""} className={`${inputClasses} h-auto py-1.5`} spellCheck={false} />}
        </Field>
        <Field id="iss-jwks" label="JWKS URI" hint="Empty: discovered from the issuer’s OpenID configuration" error={err("jwksUri")}>
          {(p) => <Input {...p} name="jwksUri" defaultValue={issuer?.jwksUri ?? ""} autoComplete="off" spellCheck={false} />}
        </Field>
        <div className="flex items-start gap-2">
          <input id="iss-unverified" name="allowUnverifiedEmails" type="checkbox" defaultChecked={issuer?.allowUnverifiedEmails ?? false} className="mt-0.5 size-4 accent-accent" aria-describedby="iss-unverified-hint" />
          <div>
            <label htmlFor="iss-unverified" className="text-sm font-medium">
              Accept unverified emails
            </label>
            <p id="iss-unverified-hint" className="text-xs text-fg-subtle">
              Only for an issuer whose emails are all assigned by its administrators and that never sends email_verified.
            </p>
          </div>
        </div>
        <div className="flex justify-end gap-2 border-t border-border pt-3">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" loading={pending}>
            {issuer ? "Save" : "Add issuer"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function TrustedIssuers({ issuers, canCreate, canUpdate, canDelete }: { issuers: TrustedIssuerJson[]; canCreate: boolean; canUpdate: boolean; canDelete: boolean }) {
  const [editing, setEditing] = useState<TrustedIssuerJson | "new" | null>(null);
  const actions = canUpdate || canDelete;
  return (
    <Card>
      <CardHeader
        title="Trusted issuers"
        description="External OpenID issuers whose ID tokens the decision API accepts."
        actions={canCreate ? <Button onClick={() => setEditing("new")}>Add issuer</Button> : null}
      />
      <Table aria-label="Trusted issuers" frameClassName="rounded-none border-0 shadow-none">
        <TableHead>
          <tr>
            <TableHeaderCell>Issuer</TableHeaderCell>
            <TableHeaderCell>Audiences</TableHeaderCell>
            <TableHeaderCell>Domains</TableHeaderCell>
            <TableHeaderCell>Emails</TableHeaderCell>
            {actions ? (
              <TableHeaderCell>
                <span className="sr-only">Actions</span>
              </TableHeaderCell>
            ) : null}
          </tr>
        </TableHead>
        <TableBody>
          {issuers.length === 0 ? (
            <TableRow>
              <TableCell colSpan={actions ? 5 : 4} className="text-fg-muted">
                No trusted issuer: only tokens Gatehouse issues itself, and its own sign-in, identify users.
              </TableCell>
            </TableRow>
          ) : (
            issuers.map((i) => (
              <TableRow key={i.issuer}>
                <TableCell className="break-all">
                  <Code>{i.issuer}</Code>
                  {i.jwksUri ? <div className="mt-0.5 text-xs text-fg-subtle">JWKS: {i.jwksUri}</div> : null}
                </TableCell>
                <TableCell className="text-xs">{i.audiences.join(", ")}</TableCell>
                <TableCell className="text-xs">{i.domains.join(", ")}</TableCell>
                <TableCell>{i.allowUnverifiedEmails ? <Badge tone="warning">Unverified accepted</Badge> : <Badge tone="success">Verified only</Badge>}</TableCell>
                {actions ? (
                  <TableCell className="text-right whitespace-nowrap">
                    {canUpdate ? (
                      <Button size="sm" variant="ghost" aria-label={`Edit ${i.issuer}`} onClick={() => setEditing(i)}>
                        Edit
                      </Button>
                    ) : null}
                    {canDelete ? (
                      <ConfirmAction
                        label="Delete"
                        ariaLabel={`Delete ${i.issuer}`}
                        variant="ghost"
                        title="Stop trusting this issuer?"
                        confirmLabel="Delete issuer"
                        action={() => deleteIssuerAction(i.issuer)}
                      >
                        <p>
                          Every Gatehouse instance stops accepting ID tokens from <Code>{i.issuer}</Code> within a second: users and scripts that sign in with it are denied.
                        </p>
                      </ConfirmAction>
                    ) : null}
                  </TableCell>
                ) : null}
              </TableRow>
            ))
          )}
        </TableBody>
      </Table>
      {editing ? <IssuerDialog key={editing === "new" ? "new" : editing.issuer} issuer={editing === "new" ? null : editing} onClose={() => setEditing(null)} /> : null}
    </Card>
  );
}
