"use client";

// The info panel of the selected resources: per role, the principals that hold it — direct and
// inherited (with where from), with condition titles — filtered as you type and paged (a chain
// can name tens of thousands of principals; only one page is ever in the DOM). Add principal and
// Remove (with confirmation) write through the server actions with the etag read with the page;
// a conflict is shown with the other change and a reload, never overwritten.
import { useDeferredValue, useMemo, useState, useTransition } from "react";
import { removePrincipalAction } from "@/app/(console)/iap/actions";
import { Alert, LiveRegion } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { ConfirmDialog } from "@/components/ui/dialog";
import { Icon } from "@/components/ui/icon";
import { inputClasses } from "@/components/ui/input";
import type { EditResult, Conflict } from "@/lib/console/iap-edit";
import { filterRows, sortRows, type IapPanelView, type PanelRow } from "@/lib/console/iap-view";
import { AddPrincipalDialog } from "./add-principal-dialog";

const PAGE = 100;

const KIND: Record<string, string> = { user: "User", group: "Group", serviceAccount: "Service account", domain: "Domain", deleted: "Deleted", allUsers: "Public", allAuthenticatedUsers: "All signed-in" };
const kindOf = (m: string) => KIND[m.includes(":") ? m.slice(0, m.indexOf(":")) : m] ?? "Principal";

export function InfoPanel({ view, onReload, reloading }: { view: IapPanelView; onReload: () => void; reloading: boolean }) {
  const [query, setQuery] = useState("");
  const deferred = useDeferredValue(query);
  const [page, setPage] = useState(0);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<PanelRow | null>(null);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [pending, start] = useTransition();
  const multi = view.targets.length > 1;
  const canEdit = view.targets.some((t) => t.canEdit);

  const sorted = useMemo(() => sortRows(view), [view]);
  const filtered = useMemo(() => filterRows(view, sorted, deferred), [deferred, sorted, view]);
  const pages = Math.max(1, Math.ceil(filtered.length / PAGE));
  const current = Math.min(page, pages - 1);
  const shown = filtered.slice(current * PAGE, current * PAGE + PAGE);
  const roleCounts = useMemo(() => {
    const n = new Map<number, number>();
    for (const r of filtered) n.set(r[1], (n.get(r[1]) ?? 0) + 1);
    return n;
  }, [filtered]);

  const onEdited = (r: EditResult, summary: string) => {
    if (r.conflict) setConflict(r.conflict);
    if (r.written.length > 0) {
      setNotice(r.conflict ? `Saved on ${r.written.map((w) => w.resource).join(", ")} only.` : summary);
      onReload();
    }
  };

  const remove = () => {
    if (!removing) return;
    const [mi, ri, ci, si] = removing;
    const resource = view.sources[si]!;
    const target = view.targets.find((t) => t.name === resource);
    const cond = ci >= 0 ? view.conditions[ci] : undefined;
    start(async () => {
      const r = await removePrincipalAction({ resource, etag: target?.etag ?? "", role: view.roles[ri]!.name, member: view.members[mi]!, ...(cond ? { condition: cond } : {}) });
      if (!r.ok) {
        setRemoveError(r.message);
        return;
      }
      setRemoving(null);
      setRemoveError(null);
      onEdited(r.value, `${view.members[mi]} no longer holds ${view.roles[ri]!.title}${cond ? ` (“${cond.title}”)` : ""} on ${resource}.`);
    });
  };

  const hidden = view.targets.flatMap((t) => t.hiddenAncestors);

  return (
    <section aria-labelledby="info-panel-title" className="space-y-3 rounded-lg border border-border bg-surface p-4">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h2 id="info-panel-title" tabIndex={-1} className="text-base font-semibold text-fg outline-none">
            {multi ? `${view.targets.length} resources selected` : (view.targets[0]?.displayName || view.targets[0]?.name.slice(view.targets[0].name.lastIndexOf("/") + 1) || "Permissions")}
          </h2>
          <p className="font-mono text-xs break-all text-fg-subtle">{multi ? view.targets.map((t) => t.name).join(", ") : view.targets[0]?.name}</p>
        </div>
        {canEdit ? (
          <Button variant="primary" onClick={() => setAdding(true)}>
            Add principal
          </Button>
        ) : null}
      </div>

      <LiveRegion>{notice ? <Alert tone="success">{notice}</Alert> : null}</LiveRegion>
      {conflict ? (
        <Alert tone="warning" title="Someone else changed this policy since you opened it">
          <p>
            Nothing of yours was saved on <span className="font-mono text-xs">{conflict.resource}</span>. Their change:
          </p>
          <ul className="my-1.5 space-y-0.5 font-mono text-xs">
            {conflict.changes.slice(0, 10).map((d, i) => (
              <li key={i}>
                {d.action === "ADD" ? "+" : "−"} {d.role} {d.member}
                {d.condition ? ` if “${d.condition.title}”` : ""}
              </li>
            ))}
            {conflict.changes.length > 10 ? <li>… and {conflict.changes.length - 10} more</li> : null}
            {conflict.changes.length === 0 ? <li>(its bindings are the same again; only its etag moved)</li> : null}
          </ul>
          <Button
            size="sm"
            loading={reloading}
            onClick={() => {
              setConflict(null);
              setNotice(null);
              onReload();
            }}
          >
            Reload the policy
          </Button>
        </Alert>
      ) : null}
      {view.refused.length > 0 ? (
        <Alert tone="error" live={false}>
          You may not see the policy of {view.refused.join(", ")} (or it does not exist).
        </Alert>
      ) : null}
      {hidden.length > 0 ? (
        <Alert tone="info" live={false}>
          Bindings inherited from {[...new Set(hidden)].join(", ")} are not listed: you may not read {hidden.length === 1 ? "its" : "their"} policy.
        </Alert>
      ) : null}
      {!canEdit && view.targets.length > 0 ? (
        <p className="text-xs text-fg-muted">Read-only: you may not change the policy of {multi ? "these resources" : "this resource"}.</p>
      ) : null}

      {view.targets.length === 0 ? null : (
        <>
          <div className="flex flex-wrap items-center gap-2">
            <div className="relative w-full max-w-xs">
              <label htmlFor="principal-filter" className="sr-only">
                Filter principals
              </label>
              <Icon name="search" className="pointer-events-none absolute top-1/2 left-2.5 -translate-y-1/2 text-fg-subtle" />
              <input
                id="principal-filter"
                type="search"
                value={query}
                onChange={(e) => {
                  setQuery(e.target.value);
                  setPage(0);
                }}
                placeholder="Filter by principal, role or condition"
                autoComplete="off"
                spellCheck={false}
                aria-describedby="principal-filter-status"
                className={cn(inputClasses, "pl-8")}
              />
            </div>
            <p id="principal-filter-status" aria-live="polite" className="text-xs text-fg-subtle">
              {filtered.length === view.rows.length ? `${view.rows.length.toLocaleString("en-US")} grants` : `${filtered.length.toLocaleString("en-US")} of ${view.rows.length.toLocaleString("en-US")} grants`}
            </p>
          </div>

          {filtered.length === 0 ? (
            <p className="rounded-md border border-dashed border-border px-4 py-8 text-center text-sm text-fg-muted">
              {view.rows.length === 0 ? (
                <>
                  Nobody holds a role here yet.{canEdit ? " Add principal grants one — IAP-secured Web App User lets them through the proxy." : ""}
                </>
              ) : (
                <>No grant matches “{query.trim()}”.</>
              )}
            </p>
          ) : (
            <div className="max-h-[65vh] overflow-auto rounded-md border border-border">
              <table className="w-full table-fixed text-sm" aria-label="Principals and their roles">
                <colgroup>
                  <col />
                  <col className="w-[34%]" />
                  {canEdit ? <col className="w-20" /> : null}
                </colgroup>
                <thead className="sticky top-0 z-10 bg-surface-2 text-left text-xs text-fg-muted">
                  <tr>
                    <th scope="col" className="px-3 py-2 font-medium">
                      Principal
                    </th>
                    <th scope="col" className="px-3 py-2 font-medium">
                      Condition
                    </th>
                    {canEdit ? (
                      <th scope="col" className="px-3 py-2 font-medium">
                        <span className="sr-only">Actions</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {shown.map((r, i) => {
                    const [mi, ri, ci, si, bits] = r;
                    const member = view.members[mi]!;
                    const role = view.roles[ri]!;
                    const cond = ci >= 0 ? view.conditions[ci] : undefined;
                    const source = view.sources[si]!;
                    const own = view.targets.find((t) => t.name === source);
                    const header = i === 0 || shown[i - 1]![1] !== ri;
                    return (
                      <RowGroup key={`${si},${ri},${ci},${mi}`} header={header ? { title: role.title, name: role.name, count: roleCounts.get(ri) ?? 0, cols: canEdit ? 3 : 2 } : null}>
                        <tr className="border-t border-border">
                          <td className="px-3 py-1.5 align-top">
                            <div className="font-mono text-xs break-all text-fg">{member}</div>
                            <div className="text-xs text-fg-subtle">
                              {kindOf(member)}
                              {own ? (
                                multi ? (
                                  <> · on <span className="font-mono">{source.slice(source.lastIndexOf("/") + 1)}</span></>
                                ) : null
                              ) : (
                                <>
                                  {" "}
                                  · inherited from <span className="font-mono break-all">{source}</span>
                                  {multi ? ` (${popcount(bits)} of ${view.targets.length} selected)` : null}
                            </>
                          )}
                        </div>
                      </td>
                      <td className="px-3 py-1.5 align-top">
                        {cond ? (
                          <Badge tone="info" title={cond.expression} className="max-w-full truncate">
                            {cond.title}
                          </Badge>
                        ) : (
                          <span className="text-xs text-fg-subtle">Always</span>
                        )}
                      </td>
                      {canEdit ? (
                        <td className="px-3 py-1.5 text-right">
                          {own?.canEdit ? (
                            <Button size="sm" variant="ghost" aria-label={`Remove ${member} from ${role.title}${cond ? ` (${cond.title})` : ""}`} onClick={() => setRemoving(r)}>
                              Remove
                            </Button>
                          ) : null}
                        </td>
                      ) : null}
                    </tr>
                  </RowGroup>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {pages > 1 ? (
        <nav aria-label="Pages of principals" className="flex items-center justify-between gap-2 text-xs text-fg-muted">
          <span>
            {(current * PAGE + 1).toLocaleString("en-US")}–{Math.min(filtered.length, (current + 1) * PAGE).toLocaleString("en-US")} of {filtered.length.toLocaleString("en-US")}
          </span>
          <span className="flex gap-1">
            <Button size="sm" onClick={() => setPage(current - 1)} disabled={current === 0}>
              Previous
            </Button>
            <Button size="sm" onClick={() => setPage(current + 1)} disabled={current >= pages - 1}>
              Next
            </Button>
          </span>
        </nav>
      ) : null}

        </>
      )}

      {canEdit ? <AddPrincipalDialog open={adding} onClose={() => setAdding(false)} targets={view.targets} view={view} onDone={onEdited} /> : null}
      <ConfirmDialog
        open={removing !== null}
        onClose={() => {
          setRemoving(null);
          setRemoveError(null);
        }}
        onConfirm={remove}
        pending={pending}
        error={removeError}
        title="Remove principal?"
        confirmLabel="Remove"
      >
        {removing ? (
          <>
            <p>
              <span className="font-mono text-xs">{view.members[removing[0]]}</span> will no longer hold <strong>{view.roles[removing[1]]!.title}</strong>
              {removing[2] >= 0 ? <> (condition “{view.conditions[removing[2]]!.title}”)</> : null} on <span className="font-mono text-xs">{view.sources[removing[3]]}</span>.
            </p>
            {view.roles[removing[1]]!.name === "roles/iap.httpsResourceAccessor" ? (
              <p className="text-fg-muted">Unless another grant covers them, their next request through the proxy is denied.</p>
            ) : null}
          </>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n; x; x &= x - 1) c++;
  return c;
}

function RowGroup({ header, children }: { header: { title: string; name: string; count: number; cols: number } | null; children: React.ReactNode }) {
  return (
    <>
      {header ? (
        <tr className="border-t border-border bg-surface-2/60">
          <th scope="colgroup" colSpan={header.cols} className="px-3 py-1.5 text-left text-xs font-semibold text-fg">
            {header.title} <span className="font-mono font-normal text-fg-subtle">{header.name}</span>
            <span className="ml-2 font-normal text-fg-muted">
              {header.count.toLocaleString("en-US")} {header.count === 1 ? "principal" : "principals"}
            </span>
          </th>
        </tr>
      ) : null}
      {children}
    </>
  );
}
