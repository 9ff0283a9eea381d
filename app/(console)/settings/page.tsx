import type { Metadata } from "next";
import { SigningKeys } from "@/components/settings/signing-keys";
import { TrustedIssuers } from "@/components/settings/trusted-issuers";
import { Alert, Badge, Card, CardHeader, Code, PageHeader, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui";
import { consoleAdmin } from "@/lib/console/admin";
import { getSettingsView } from "@/lib/console/settings";

export const metadata: Metadata = { title: "Settings" };

function Hidden({ what, permission }: { what: string; permission: string }) {
  return (
    <Alert tone="info" live={false} title={`You may not view ${what}`}>
      It needs {permission} on every organization.
    </Alert>
  );
}

export default async function SettingsPage() {
  const { ctx } = await consoleAdmin();
  const v = await getSettingsView(ctx);
  return (
    <>
      <PageHeader eyebrow="Admin" title="Settings" description="Gatehouse’s signing keys, the issuers whose tokens it trusts, and the OAuth clients of IAP resources." />
      <div className="space-y-6">
        {v.signingKeys ? <SigningKeys keys={v.signingKeys} canRotate={v.canRotate} /> : <Hidden what="signing keys" permission="gatehouse.signingKeys.list" />}
        {v.issuers ? (
          <TrustedIssuers issuers={v.issuers} canCreate={v.canCreateIssuer} canUpdate={v.canUpdateIssuer} canDelete={v.canDeleteIssuer} />
        ) : (
          <Hidden what="trusted issuers" permission="gatehouse.trustedIssuers.list" />
        )}
        <Card>
          <CardHeader title="OAuth clients" description="Created when IAP is first turned on for a resource. A client secret was shown once, then; it is never shown again." />
          <Table aria-label="OAuth clients" frameClassName="rounded-none border-0 shadow-none">
            <TableHead>
              <tr>
                <TableHeaderCell>Resource</TableHeaderCell>
                <TableHeaderCell>Client id</TableHeaderCell>
                <TableHeaderCell>IAP</TableHeaderCell>
              </tr>
            </TableHead>
            <TableBody>
              {v.oauthClients.length === 0 ? (
                <TableRow>
                  <TableCell colSpan={3} className="text-fg-muted">
                    No resource you may see has an OAuth client yet.
                  </TableCell>
                </TableRow>
              ) : (
                v.oauthClients.map((c) => (
                  <TableRow key={c.resource}>
                    <TableCell className="break-all">
                      <div className="font-medium">{c.displayName}</div>
                      <Code className="text-xs">{c.resource}</Code>
                    </TableCell>
                    <TableCell className="break-all">
                      <Code>{c.clientId}</Code>
                    </TableCell>
                    <TableCell>{c.iapEnabled ? <Badge tone="success" dot>On</Badge> : <Badge tone="neutral" dot>Off</Badge>}</TableCell>
                  </TableRow>
                ))
              )}
            </TableBody>
          </Table>
          {v.oauthTruncated ? <p className="px-4 py-2 text-sm text-fg-muted">Only the first 1,000 clients are shown.</p> : null}
        </Card>
      </div>
    </>
  );
}
