import type { Metadata } from "next";
import Link from "next/link";
import { EntryDetails } from "@/components/audit/entry-details";
import { Alert, Badge, buttonClasses, cn, EmptyState, Field, Input, inputClasses, PageHeader, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui";
import { auditView, type AuditFilterName, type AuditView } from "@/lib/console/audit";
import { REASONS } from "@/lib/policy/types";

export const metadata: Metadata = { title: "Audit logs" };

const STREAMS = [
  { id: "admin_activity", label: "Admin activity", hint: "Every policy and configuration change: who, what, the binding deltas." },
  { id: "data_access", label: "Data access", hint: "Every access decision, and every read of the logs." },
] as const;

function TextFilter({ view, name, label, placeholder, hint }: { view: AuditView; name: AuditFilterName; label: string; placeholder?: string; hint?: string }) {
  const error = view.error?.kind === "invalid" ? view.error.fields[name] : undefined;
  return (
    <Field id={`filter-${name}`} label={label} error={error ?? null} {...(hint ? { hint } : {})}>
      {(p) => <Input {...p} name={name} defaultValue={view.filters[name] ?? ""} placeholder={placeholder} autoComplete="off" />}
    </Field>
  );
}

function SelectFilter({ view, name, label, options }: { view: AuditView; name: AuditFilterName; label: string; options: readonly (readonly [string, string])[] }) {
  const error = view.error?.kind === "invalid" ? view.error.fields[name] : undefined;
  return (
    <Field id={`filter-${name}`} label={label} error={error ?? null}>
      {(p) => (
        <select {...p} name={name} defaultValue={view.filters[name] ?? ""} className={cn(inputClasses, "pr-7")}>
          <option value="">Any</option>
          {options.map(([value, text]) => (
            <option key={value} value={value}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function TimeFilter({ view, name, label }: { view: AuditView; name: "startTime" | "endTime"; label: string }) {
  const error = view.error?.kind === "invalid" ? view.error.fields[name] : undefined;
  const value = view.filters[name] ?? "";
  // datetime-local shows "YYYY-MM-DDTHH:MM"; a full RFC 3339 time from a shared link is kept as text.
  const local = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) || value === "";
  return (
    <Field id={`filter-${name}`} label={label} error={error ?? null}>
      {(p) => <Input {...p} name={name} type={local ? "datetime-local" : "text"} defaultValue={value} />}
    </Field>
  );
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const view = await auditView(await searchParams);
  const dataAccess = view.stream === "data_access";
  const filtered = Object.keys(view.filters).length > 0;
  return (
    <>
      <PageHeader
        eyebrow="Diagnose"
        title="Audit logs"
        description="Both streams in the Cloud Audit Logs shape. You see the entries of the resources you hold a logs role on; your reads are recorded too."
        actions={
          view.error ? undefined : (
            <>
              <a href={view.exportHref.csv} className={buttonClasses({ size: "sm" })}>
                Export CSV
              </a>
              <a href={view.exportHref.ndjson} className={buttonClasses({ size: "sm" })}>
                Export NDJSON
              </a>
            </>
          )
        }
      >
        <nav aria-label="Log streams" className="flex gap-1 border-b border-border">
          {STREAMS.map((s) => {
            const current = s.id === view.stream;
            return (
              <Link
                key={s.id}
                href={`/audit?stream=${s.id}`}
                aria-current={current ? "page" : undefined}
                title={s.hint}
                className={cn(
                  "-mb-px border-b-2 px-3 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-focus",
                  current ? "border-accent text-fg" : "border-transparent text-fg-muted hover:text-fg",
                )}
              >
                {s.label}
              </Link>
            );
          })}
        </nav>
      </PageHeader>

      <form method="get" action="/audit" aria-label="Filter entries" className="mb-5 rounded-lg border border-border bg-surface p-4 shadow-xs">
        <input type="hidden" name="stream" value={view.stream} />
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <TextFilter view={view} name="principal" label="Principal" placeholder={dataAccess ? "user:alice@example.com" : "alice@example.com"} />
          <TextFilter view={view} name="resource" label="Resource (and below)" placeholder="projects/demo" />
          <TextFilter view={view} name="method" label="Method" placeholder={dataAccess ? "AuthorizeUser" : "SetIamPolicy"} />
          {dataAccess ? (
            <TextFilter view={view} name="q" label="Text" placeholder="alice@, projects/demo, app.example.com…" hint="The start of an email, a resource name or a host; or an insertId" />
          ) : (
            <TextFilter view={view} name="q" label="Text" placeholder="actor, resource, method, insertId…" />
          )}
          {dataAccess ? (
            <>
              <SelectFilter view={view} name="granted" label="Decision" options={[["true", "Granted"], ["false", "Denied"]]} />
              <SelectFilter view={view} name="reason" label="Reason" options={REASONS.map((r) => [r, r] as const)} />
              <TextFilter view={view} name="permission" label="Permission" placeholder="iap.webServiceVersions.accessViaIAP" />
            </>
          ) : null}
          <TimeFilter view={view} name="startTime" label="From (UTC)" />
          <TimeFilter view={view} name="endTime" label="Until (UTC)" />
        </div>
        <div className="mt-4 flex items-center gap-2">
          <button type="submit" className={buttonClasses({ variant: "primary", size: "sm" })}>
            Apply filters
          </button>
          {filtered ? (
            <Link href={`/audit?stream=${view.stream}`} className={buttonClasses({ variant: "ghost", size: "sm" })}>
              Clear filters
            </Link>
          ) : null}
        </div>
      </form>

      {view.error?.kind === "invalid" ? (
        <Alert tone="error" title="These filters cannot be applied" className="mb-4">
          {view.error.message}
        </Alert>
      ) : null}

      {view.error?.kind === "denied" ? (
        <EmptyState
          icon="lock"
          title="You cannot read these logs"
          description={
            dataAccess
              ? "Data-access logs need the Private Logs Viewer role (roles/logging.privateLogViewer) on the resources, or Owner."
              : "Admin-activity logs need the Logs Viewer role (roles/logging.viewer) on the resources, or Viewer."
          }
        />
      ) : null}

      {!view.error && view.rows.length === 0 ? (
        <EmptyState
          icon="log"
          title={filtered || view.paged ? "No entries match" : "No entries yet"}
          description={
            filtered
              ? "Nothing in this stream matches these filters among the resources you may read. Widen the time range or clear a filter."
              : dataAccess
                ? "Decisions appear here as proxies ask Gatehouse about requests."
                : "Changes to policies and configuration appear here as admins make them."
          }
        />
      ) : null}

      {view.rows.length > 0 ? (
        <>
          <Table aria-label={dataAccess ? "Data-access entries, newest first" : "Admin-activity entries, newest first"}>
            <TableHead>
              <TableRow>
                <TableHeaderCell>Time (UTC)</TableHeaderCell>
                <TableHeaderCell>Principal</TableHeaderCell>
                <TableHeaderCell>Method</TableHeaderCell>
                <TableHeaderCell>Resource</TableHeaderCell>
                {dataAccess ? <TableHeaderCell>Decision</TableHeaderCell> : <TableHeaderCell>Changes</TableHeaderCell>}
                <TableHeaderCell>
                  <span className="sr-only">Details</span>
                </TableHeaderCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {view.rows.map((r) => (
                <TableRow key={r.insertId}>
                  <TableCell className="font-mono text-xs whitespace-nowrap">
                    <time dateTime={r.timestamp}>{r.timestamp.replace("T", " ").replace("Z", "")}</time>
                  </TableCell>
                  <TableCell className="min-w-44 break-all">{r.principal}</TableCell>
                  <TableCell>{r.methodName}</TableCell>
                  <TableCell className="min-w-56 font-mono text-xs break-all">{r.resourceName}</TableCell>
                  {dataAccess ? (
                    <TableCell className="whitespace-nowrap">
                      <Badge tone={r.granted ? "success" : "danger"} dot>
                        {r.granted ? "Granted" : "Denied"}
                      </Badge>
                      {r.reason && r.reason !== "GRANTED" ? <span className="ml-2 text-xs text-fg-muted">{r.reason}</span> : null}
                    </TableCell>
                  ) : (
                    <TableCell className="text-xs text-fg-muted">{r.deltas.length ? `${r.deltas.length} binding change${r.deltas.length === 1 ? "" : "s"}` : "—"}</TableCell>
                  )}
                  <TableCell className="text-right whitespace-nowrap">
                    {r.whyHref ? (
                      <Link href={r.whyHref} className={buttonClasses({ variant: "ghost", size: "sm" })} aria-label={`Explain decision ${r.insertId}`}>
                        Why?
                      </Link>
                    ) : null}
                    <EntryDetails row={r} />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <nav aria-label="Pages" className="mt-4 flex items-center justify-between text-sm">
            {view.paged ? (
              <Link href={`/audit?${new URLSearchParams({ stream: view.stream, ...view.filters }).toString()}`} className={buttonClasses({ size: "sm" })}>
                Newest entries
              </Link>
            ) : (
              <span />
            )}
            {view.nextHref ? (
              <Link href={view.nextHref} className={buttonClasses({ size: "sm" })}>
                Older entries
              </Link>
            ) : (
              <span className="text-fg-subtle">End of the log</span>
            )}
          </nav>
        </>
      ) : null}
    </>
  );
}
