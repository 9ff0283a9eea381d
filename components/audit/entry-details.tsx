"use client";

// One audit entry's details: a button in its row opens a dialog with the entry as the API returns
// it (Cloud Audit Log JSON), and for a decision a link to why it was made at its revision.
import Link from "next/link";
import { useState } from "react";
import { Button, buttonClasses, Dialog } from "@/components/ui";
import type { AuditRow } from "@/lib/console/audit";

export function EntryDetails({ row }: { row: AuditRow }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="sm" variant="ghost" onClick={() => setOpen(true)} aria-label={`Details of ${row.methodName} at ${row.timestamp}`}>
        Details
      </Button>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        size="lg"
        className="text-left"
        title={`${row.methodName} · ${row.resourceName}`}
        description={`${row.timestamp} · insertId ${row.insertId}`}
        footer={
          <>
            {row.whyHref ? (
              <Link href={row.whyHref} className={buttonClasses({ variant: "secondary" })}>
                Why was this decided?
              </Link>
            ) : null}
            <Button variant="primary" onClick={() => setOpen(false)}>
              Close
            </Button>
          </>
        }
      >
        <dl className="mb-4 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1.5 text-sm">
          <dt className="text-fg-subtle">Principal</dt>
          <dd className="break-all">{row.principal}</dd>
          <dt className="text-fg-subtle">Service</dt>
          <dd>{row.serviceName}</dd>
          {row.permission ? (
            <>
              <dt className="text-fg-subtle">Permission</dt>
              <dd className="break-all">{row.permission}</dd>
            </>
          ) : null}
          {row.granted !== undefined ? (
            <>
              <dt className="text-fg-subtle">Decision</dt>
              <dd>
                {row.granted ? "Granted" : "Denied"}
                {row.reason ? ` (${row.reason})` : ""}
              </dd>
            </>
          ) : null}
          {row.request ? (
            <>
              <dt className="text-fg-subtle">Request</dt>
              <dd className="break-all">{row.request}</dd>
            </>
          ) : null}
          {row.callerIp ? (
            <>
              <dt className="text-fg-subtle">Caller IP</dt>
              <dd>{row.callerIp}</dd>
            </>
          ) : null}
          {row.deltas.length ? (
            <>
              <dt className="text-fg-subtle">Binding changes</dt>
              <dd>
                <ul className="space-y-0.5 font-mono text-xs">
                  {row.deltas.map((d) => (
                    <li key={d} className="break-all">
                      {d}
                    </li>
                  ))}
                </ul>
              </dd>
            </>
          ) : null}
        </dl>
        <h3 className="mb-1.5 text-xs font-medium tracking-wide text-fg-subtle uppercase">Log entry (Cloud Audit Log JSON)</h3>
        <pre tabIndex={0} aria-label="Log entry JSON" className="max-h-80 overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs">
          {row.json}
        </pre>
      </Dialog>
    </>
  );
}
