import type { Metadata } from "next";
import Link from "next/link";
import { Alert, Badge, Button, buttonClasses, Code, EmptyState, Field, Input, PageHeader, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@/components/ui";
import { requireSession } from "@/lib/auth/session";
import { accessAtResources, getAccessAt } from "@/lib/console/history";

export const metadata: Metadata = { title: "Who could reach a resource" };

type Search = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (typeof v === "string" ? v : "");

export default async function AccessAtPage({ searchParams }: { searchParams: Promise<Search> }) {
  await requireSession();
  const q = await searchParams;
  const resource = one(q.resource).trim();
  const time = one(q.time).trim();
  const path = one(q.path).trim();
  const [resources, answer] = await Promise.all([accessAtResources(), resource && time ? getAccessAt({ resource, time, ...(path ? { path } : {}) }) : Promise.resolve(null)]);
  const query = new URLSearchParams({ resource, time, ...(path ? { path } : {}) }).toString();
  return (
    <>
      <PageHeader
        eyebrow={<Link href="/audit" className="hover:underline">Audit logs</Link>}
        title="Who could reach a resource"
        description="Everyone who held the resource's access permission at a past time, from the policy history: the binding that let them in, the groups it came through, and the admin-activity entry that added it."
      />
      <form method="get" className="mb-6 grid grid-cols-1 items-start gap-4 rounded-lg border border-border bg-surface p-4 md:grid-cols-[2fr_1fr_1fr_auto]">
        <Field id="resource" label="Resource" required hint="A web resource, tunnel instance, service or function.">
          {(p) => <Input {...p} name="resource" list="resources" defaultValue={resource} placeholder="projects/…/iap_web/compute/services/…" autoComplete="off" />}
        </Field>
        <datalist id="resources">
          {resources.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
        <Field id="time" label="Date and time (UTC)" required>
          {(p) => <Input {...p} name="time" type="datetime-local" step={1} defaultValue={time.replace(/Z$/, "")} />}
        </Field>
        <Field id="path" label="Request path" hint="Conditions see this path (default /).">
          {(p) => <Input {...p} name="path" defaultValue={path} placeholder="/" />}
        </Field>
        <Button type="submit" variant="primary" className="md:mt-6">
          Show
        </Button>
      </form>
      {!answer ? (
        <EmptyState icon="users" title="Pick a resource and a time" description="The list shows who could pass through it then, and who gave them that access." />
      ) : !answer.ok ? (
        <Alert tone="error" live={false} title="Cannot show this">
          {answer.message}
        </Alert>
      ) : (
        <section aria-labelledby="result-heading" className="space-y-4">
          <div className="flex flex-wrap items-center justify-between gap-3">
            <h2 id="result-heading" className="text-sm font-semibold">
              {answer.value.principals.length} principal{answer.value.principals.length === 1 ? "" : "s"} with <Code>{answer.value.permission || "—"}</Code> at revision {answer.value.revision}
              {answer.value.revisionCommittedAt ? <span className="font-normal text-fg-muted"> (in force since {answer.value.revisionCommittedAt})</span> : null}
            </h2>
            <a className={buttonClasses({ size: "sm" })} href={`/audit/access-at/csv?${query}`} download>
              Export CSV
            </a>
          </div>
          {answer.value.notes.map((n) => (
            <Alert key={n} tone={answer.value.historyAvailable ? "info" : "warning"} live={false}>
              {n}
            </Alert>
          ))}
          {answer.value.anonymous ? (
            <Alert tone="warning" live={false} title="Anyone could pass">
              An allUsers binding let unauthenticated requests through at that time.
            </Alert>
          ) : null}
          {answer.value.principals.length ? (
            <Table aria-label="Principals who could reach the resource">
              <TableHead>
                <TableRow>
                  <TableHeaderCell>Principal</TableHeaderCell>
                  <TableHeaderCell>Through</TableHeaderCell>
                  <TableHeaderCell>Binding</TableHeaderCell>
                  <TableHeaderCell>Condition</TableHeaderCell>
                  <TableHeaderCell>Who gave them access</TableHeaderCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {answer.value.principals.map((p) => (
                  <TableRow key={p.principal}>
                    <TableCell>
                      <Code className="break-all">{p.principal}</Code>
                    </TableCell>
                    <TableCell>{p.groupPath.length ? p.groupPath.join(" › ") : <Badge>Direct</Badge>}</TableCell>
                    <TableCell>
                      <Code className="break-all">{p.grantedBy.role}</Code> on <Code className="break-all">{p.grantedBy.resource}</Code>
                      {p.grantedBy.member !== p.principal ? (
                        <>
                          {" "}to <Code className="break-all">{p.grantedBy.member}</Code>
                        </>
                      ) : null}
                    </TableCell>
                    <TableCell>{p.grantedBy.condition ?? "—"}</TableCell>
                    <TableCell>
                      {p.addedBy ? (
                        <>
                          <span className="font-medium">{p.addedBy.actor}</span>
                          <span className="block text-xs text-fg-muted">
                            {p.addedBy.methodName} at {p.addedBy.timestamp} (revision {p.addedBy.revision})
                          </span>
                          <span className="block text-xs text-fg-subtle">
                            entry <Code className="break-all">{p.addedBy.insertId}</Code>
                          </span>
                        </>
                      ) : (
                        <span className="text-fg-muted">No record (before history)</span>
                      )}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          ) : (
            <EmptyState icon="users" title="Nobody could reach it then" description="No principal held the permission at that revision for that request." />
          )}
        </section>
      )}
    </>
  );
}
