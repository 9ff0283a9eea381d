import type { Metadata } from "next";
import Link from "next/link";
import { Alert, Badge, Card, CardBody, CardHeader, Code, EmptyState, PageHeader } from "@/components/ui";
import { DecisionTrace } from "@/components/audit/decision-trace";
import { requireSession } from "@/lib/auth/session";
import { getDecisionExplanation } from "@/lib/console/history";

export const metadata: Metadata = { title: "Decision" };

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-fg-subtle">{label}</dt>
      <dd className="mt-0.5 text-sm break-words text-fg">{children}</dd>
    </div>
  );
}

/** The recorded binding ({ resource, role, member, condition }) or deny rule, in words where it is a binding. */
function DecidedBy({ value }: { value: unknown }) {
  if (!value || typeof value !== "object") return <>—</>;
  const v = value as Record<string, unknown>;
  if (typeof v.role === "string" && typeof v.member === "string" && typeof v.resource === "string") {
    return (
      <>
        <Code className="break-all">{v.role}</Code> for <Code className="break-all">{v.member}</Code> on <Code className="break-all">{v.resource}</Code>
        {typeof v.condition === "string" ? <> with condition “{v.condition}”</> : null}
      </>
    );
  }
  return <Code className="break-all">{JSON.stringify(value)}</Code>;
}

const orDash = (v: string | null | undefined) => (v ? <Code>{v}</Code> : "—");

export default async function DecisionPage({ params }: { params: Promise<{ insertId: string }> }) {
  await requireSession();
  const { insertId } = await params;
  const r = await getDecisionExplanation(insertId);
  if (!r.ok) {
    return (
      <>
        <PageHeader eyebrow={<Link href="/audit" className="hover:underline">Audit logs</Link>} title="Decision" />
        <EmptyState icon="log" title="This entry cannot be shown" description={r.message} />
      </>
    );
  }
  const e = r.value;
  const rec = e.recorded;
  const d = e.decision;
  return (
    <>
      <PageHeader
        eyebrow={<Link href="/audit" className="hover:underline">Audit logs</Link>}
        title={
          <span className="flex flex-wrap items-center gap-2">
            Decision <Badge tone={rec.granted ? "success" : "danger"} dot>{rec.granted ? "Allowed" : "Denied"}</Badge>
          </span>
        }
        description={
          <>
            <Code>{rec.principal ?? "anonymous"}</Code> → <Code>{rec.resource}</Code>, explained at revision {e.evaluatedAt.revision}, the revision it was made at.
          </>
        }
      />
      <div className="space-y-6">
        {e.matches === true ? (
          <Alert tone="success" live={false} title="Matches the record">
            Re-evaluated against the policy as it was at revision {e.evaluatedAt.revision}, the check gives what was recorded: {d?.allowed ? "allowed" : "denied"} ({d?.reason}).
          </Alert>
        ) : e.matches === false ? (
          <Alert tone="error" live={false} title="Does not match the record">
            <ul className="list-disc pl-5">
              {e.differences.map((x) => (
                <li key={x}>{x}</li>
              ))}
            </ul>
          </Alert>
        ) : (
          <Alert tone="warning" live={false} title={e.historyAvailable ? "Not compared" : "No history for this revision"}>
            {e.notes.join(" ")}
          </Alert>
        )}
        {e.matches !== null && e.notes.length ? (
          <Alert tone="info" live={false}>
            {e.notes.join(" ")}
          </Alert>
        ) : null}

        <Card>
          <CardHeader title="Recorded" description="What the data-access entry holds of the check it answered." />
          <CardBody>
            <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3">
              <Fact label="Entry (insertId)">{orDash(rec.insertId)}</Fact>
              <Fact label="Time">{rec.timestamp}</Fact>
              <Fact label="What-if time">{rec.whatIfTime ?? "—"}</Fact>
              <Fact label="Principal">{orDash(rec.principal ?? "anonymous")}</Fact>
              <Fact label="Resource">{orDash(rec.resource)}</Fact>
              <Fact label="Permission">{orDash(rec.permission)}</Fact>
              <Fact label="Result">
                {rec.granted ? "Allowed" : "Denied"} ({rec.reason})
              </Fact>
              <Fact label="Revision">{rec.revision}</Fact>
              <Fact label="Request">
                {rec.method ?? "GET"} {rec.host ?? ""}
                {rec.path ?? ""}
              </Fact>
              <Fact label="Client IP">{orDash(rec.callerIp)}</Fact>
              <Fact label="Region">{orDash(rec.regionCode)}</Fact>
              {rec.destination ? (
                <Fact label="Tunnel destination">
                  {[rec.destination.ip, rec.destination.port === undefined ? undefined : `port ${rec.destination.port}`].filter((x) => x !== undefined).join(", ") || "—"}
                </Fact>
              ) : null}
              <Fact label="Satisfied access levels">{rec.accessLevels.length ? rec.accessLevels.join(", ") : "—"}</Fact>
              <Fact label="Unsatisfied access levels">{rec.unsatisfiedLevels.length ? rec.unsatisfiedLevels.join(", ") : "—"}</Fact>
              <Fact label="Decided by">
                <DecidedBy value={rec.decidedBy} />
              </Fact>
            </dl>
          </CardBody>
        </Card>

        {d ? (
          <section aria-labelledby="trace-heading" className="space-y-3">
            <h2 id="trace-heading" className="text-sm font-semibold">
              Why, at revision {e.evaluatedAt.revision}
            </h2>
            <p className="text-sm text-fg-muted">
              {d.allowed ? "Allowed" : "Denied"} ({d.reason})
              {d.grantedBy ? (
                <>
                  {" "}by <Code>{d.grantedBy.role}</Code> for <Code>{d.grantedBy.member}</Code> on <Code>{d.grantedBy.resource}</Code>
                  {d.grantedBy.condition ? <> with condition “{d.grantedBy.condition}”</> : null}
                </>
              ) : null}
              {d.accessLevels.unsatisfied.length ? <> · unmet access levels: {d.accessLevels.unsatisfied.join(", ")}</> : null}
            </p>
            <DecisionTrace trace={d.trace ?? []} />
          </section>
        ) : null}
      </div>
    </>
  );
}
