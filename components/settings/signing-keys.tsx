"use client";

import { useState, useTransition } from "react";
import { rotateSigningKeysAction } from "@/app/(console)/settings/actions";
import { Alert, Badge, Button, Card, CardHeader, Code, ConfirmDialog, LiveRegion, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow, type BadgeTone } from "@/components/ui";
import type { SigningKeyJson } from "@/lib/admin/signing-keys";

const TONE: Record<SigningKeyJson["state"], BadgeTone> = { ACTIVE: "success", NEXT: "info", RETIRED: "neutral" };
const when = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "—");

export function SigningKeys({ keys, canRotate }: { keys: Omit<SigningKeyJson, "publicJwk">[]; canRotate: boolean }) {
  const [open, setOpen] = useState(false);
  const [immediate, setImmediate] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [pending, start] = useTransition();
  return (
    <Card>
      <CardHeader
        title="Signing keys"
        description="ES256 keys that sign x-goog-iap-jwt-assertion and Gatehouse’s ID tokens, published at /.well-known/jwks.json."
        actions={
          canRotate ? (
            <Button
              onClick={() => {
                setError(null);
                setImmediate(false);
                setOpen(true);
              }}
            >
              Rotate keys
            </Button>
          ) : null
        }
      />
      <LiveRegion className="px-4 empty:hidden">{done ? <Alert tone="success" className="my-3">{done}</Alert> : null}</LiveRegion>
      <Table aria-label="Signing keys" frameClassName="rounded-none border-0 shadow-none">
        <TableHead>
          <tr>
            <TableHeaderCell>Key id</TableHeaderCell>
            <TableHeaderCell>State</TableHeaderCell>
            <TableHeaderCell>Created</TableHeaderCell>
            <TableHeaderCell>Signs from</TableHeaderCell>
            <TableHeaderCell>Retired</TableHeaderCell>
            <TableHeaderCell>Leaves the JWKS</TableHeaderCell>
          </tr>
        </TableHead>
        <TableBody>
          {keys.length === 0 ? (
            <TableRow>
              <TableCell colSpan={6} className="text-fg-muted">
                No key yet: the first one is made when Gatehouse first signs.
              </TableCell>
            </TableRow>
          ) : (
            keys.map((k) => (
              <TableRow key={k.kid}>
                <TableCell>
                  <Code>{k.kid}</Code>
                </TableCell>
                <TableCell>
                  <Badge tone={TONE[k.state]} dot>
                    {k.state === "NEXT" ? "Next" : k.state === "ACTIVE" ? "Active" : "Retired"}
                  </Badge>
                </TableCell>
                <TableCell className="text-xs whitespace-nowrap">{when(k.createTime)}</TableCell>
                <TableCell className="text-xs whitespace-nowrap">{when(k.activateTime)}</TableCell>
                <TableCell className="text-xs whitespace-nowrap">{when(k.retireTime)}</TableCell>
                <TableCell className="text-xs whitespace-nowrap">{when(k.expireTime)}</TableCell>
              </TableRow>
            ))
          )}
        </TableBody>
      </Table>
      <ConfirmDialog
        open={open}
        onClose={() => setOpen(false)}
        title="Rotate the signing keys?"
        confirmLabel="Start rotation"
        tone="primary"
        pending={pending}
        error={error}
        onConfirm={() =>
          start(async () => {
            const r = await rotateSigningKeysAction(immediate);
            if (!r.ok) return setError(r.message);
            setOpen(false);
            setDone(r.value.started ? `Rotation started: ${r.value.kid} signs from ${when(r.value.activatesAt)}.` : `A rotation is already under way: ${r.value.kid} signs from ${when(r.value.activatesAt)}.`);
          })
        }
      >
        <p>A new key is published in the JWKS now and starts signing once every verifier’s cached JWKS has seen it; the current key stays published until every token it signed has expired.</p>
        <div className="flex items-start gap-2">
          <input id="rotate-immediate" type="checkbox" className="mt-0.5 size-4 accent-accent" checked={immediate} onChange={(e) => setImmediate(e.target.checked)} aria-describedby="rotate-immediate-hint" />
          <div>
            <label htmlFor="rotate-immediate" className="font-medium">
              Sign with the new key at once
            </label>
            <p id="rotate-immediate-hint" className="text-xs text-fg-subtle">
              For emergencies (a leaked key): verifiers holding a cached JWKS reject new assertions until they refetch it.
            </p>
          </div>
        </div>
      </ConfirmDialog>
    </Card>
  );
}
