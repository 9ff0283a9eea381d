"use client";

import { useState } from "react";
import { createProxyKeyAction, revokeProxyKeyAction } from "@/app/(console)/proxies/actions";
import { Alert, Badge, Button, Code, Dialog, EmptyState, Field, Input, LiveRegion, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow, inputClasses } from "@/components/ui";
import { ConfirmAction } from "@/components/ui/confirm-action";
import { CopyButton } from "@/components/ui/copy-button";
import { fieldError } from "@/lib/console/action-result";
import { useFormAction } from "@/lib/console/use-form-action";
import type { ProxyKey } from "@/lib/admin/proxy-keys";

const date = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "never");

function CreateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { state, pending, onSubmit } = useFormAction(createProxyKeyAction);
  const created = state?.ok ? state.value : null;
  // A new form (and no secret) each time the dialog opens.
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={created ? "Proxy credential created" : "Create a proxy credential"}
      description={created ? undefined : "A proxy authenticates to Gatehouse with it (X-Gatehouse-Proxy-Key or Authorization: Bearer)."}
      footer={created ? <Button variant="primary" onClick={onClose}>Done</Button> : null}
    >
      {created ? (
        <div className="space-y-3 text-sm">
          <Alert tone="warning" live={false} title="Copy the secret now">
            It is shown this once and stored only as a hash: nobody can see it again. If it is lost, revoke the credential and create another.
          </Alert>
          <p>
            Secret of <strong>{created.key.name}</strong>:
          </p>
          <div className="flex items-center gap-2">
            <code id="proxy-secret" className="min-w-0 flex-1 rounded-md border border-border bg-surface-2 px-2 py-1.5 font-mono text-xs break-all select-all">
              {created.secret}
            </code>
            <CopyButton value={created.secret} label="Copy secret" />
          </div>
        </div>
      ) : (
        <form onSubmit={onSubmit} className="space-y-4" id="create-proxy-key">
          <LiveRegion>{state && !state.ok && !state.details ? <Alert tone="error">{state.message}</Alert> : null}</LiveRegion>
          <Field id="pk-name" label="Name" required hint="Letters, digits, dots, dashes or underscores, e.g. edge-nginx" error={fieldError(state ?? undefined, "name")}>
            {(p) => <Input {...p} name="name" autoComplete="off" spellCheck={false} autoFocus />}
          </Field>
          <Field id="pk-scopes" label="Scopes" hint="Resource-name prefixes this proxy may ask about, one per line. Empty: every resource." error={fieldError(state ?? undefined, "scopes")}>
            {(p) => <textarea {...p} name="scopes" rows={3} className={`${inputClasses} h-auto py-1.5 font-mono text-xs`} placeholder="projects/demo" spellCheck={false} />}
          </Field>
          <Field id="pk-region" label="Region header" hint="The header in which this proxy reports the client’s country (from its GeoIP or CDN). Empty: no region from this proxy." error={fieldError(state ?? undefined, "regionHeader")}>
            {(p) => <Input {...p} name="regionHeader" placeholder="cf-ipcountry" autoComplete="off" spellCheck={false} />}
          </Field>
          <div className="flex items-start gap-2">
            <input id="pk-trusted" name="trusted" type="checkbox" className="mt-0.5 size-4 accent-accent" aria-describedby="pk-trusted-hint" />
            <div>
              <label htmlFor="pk-trusted" className="text-sm font-medium">
                Trusted
              </label>
              <p id="pk-trusted-hint" className="text-xs text-fg-subtle">
                May assert principals itself, ask what-if questions and see which binding decided. Only for a proxy that authenticates users itself.
              </p>
            </div>
          </div>
          <div className="flex justify-end gap-2 border-t border-border pt-3">
            <Button onClick={onClose}>Cancel</Button>
            <Button type="submit" variant="primary" loading={pending}>
              Create
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

export function ProxyKeys({ keys, canCreate, canRevoke }: { keys: ProxyKey[]; canCreate: boolean; canRevoke: boolean }) {
  const [creating, setCreating] = useState(0);
  return (
    <div className="space-y-4">
      {canCreate ? (
        <div className="flex justify-end">
          <Button variant="primary" onClick={() => setCreating((n) => n + 1)}>
            Create credential
          </Button>
        </div>
      ) : null}
      {keys.length === 0 ? (
        <EmptyState icon="server" title="No proxy credentials" description="Create one for each reverse proxy that asks Gatehouse for decisions (or use npm run gatehouse -- proxy-key create)." />
      ) : (
        <Table aria-label="Proxy credentials">
          <TableHead>
            <tr>
              <TableHeaderCell>Name</TableHeaderCell>
              <TableHeaderCell>State</TableHeaderCell>
              <TableHeaderCell>Scopes</TableHeaderCell>
              <TableHeaderCell>Created · last used</TableHeaderCell>
              {canRevoke ? (
                <TableHeaderCell>
                  <span className="sr-only">Actions</span>
                </TableHeaderCell>
              ) : null}
            </tr>
          </TableHead>
          <TableBody>
            {keys.map((k) => (
              <TableRow key={k.id} data-name={k.name}>
                <TableCell>
                  <div className="font-medium">{k.name}</div>
                  <div className="font-mono text-xs text-fg-subtle">{k.prefix}…</div>
                </TableCell>
                <TableCell>
                  <div className="flex flex-wrap gap-1">
                    {k.revokedAt ? (
                      <Badge tone="neutral" dot title={`Revoked ${date(k.revokedAt)}`}>
                        Revoked
                      </Badge>
                    ) : (
                      <Badge tone="success" dot>
                        Active
                      </Badge>
                    )}
                    {k.trusted ? <Badge tone="warning">Trusted</Badge> : null}
                  </div>
                </TableCell>
                <TableCell className="text-xs">
                  {k.scopes.length > 0 ? k.scopes.map((s) => <Code key={s} className="mr-1 inline-block break-all">{s}</Code>) : <span className="text-fg-subtle">All resources</span>}
                  <div className="mt-0.5 text-fg-subtle">Region header: {k.regionHeader ? <Code>{k.regionHeader}</Code> : "none"}</div>
                </TableCell>
                <TableCell className="text-xs">
                  {date(k.createdAt)} <span className="text-fg-subtle">by {k.createdBy}</span>
                  <div className="text-fg-subtle">Last used {date(k.lastUsedAt)}</div>
                </TableCell>
                {canRevoke ? (
                  <TableCell className="text-right">
                    {k.revokedAt ? null : (
                      <ConfirmAction
                        label="Revoke"
                        ariaLabel={`Revoke ${k.name}`}
                        variant="ghost"
                        title={`Revoke ${k.name}?`}
                        confirmLabel="Revoke credential"
                        action={() => revokeProxyKeyAction(k.name)}
                      >
                        <p>
                          Every Gatehouse instance stops accepting this credential within a second. A proxy still using it gets 401 on every decision, so its users are denied until it is
                          given a new credential. This cannot be undone.
                        </p>
                      </ConfirmAction>
                    )}
                  </TableCell>
                ) : null}
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {canCreate ? <CreateDialog key={creating} open={creating > 0} onClose={() => setCreating(0)} /> : null}
    </div>
  );
}
