import { Badge, Card, CardBody, CardHeader, Code, type BadgeTone } from "@/components/ui";
import type { BindingRow, DenyRow, TraceNode, TroubleshootView } from "@/lib/console/troubleshooter";

const REASONS: Record<string, string> = {
  GRANTED: "A binding grants the permission and its condition holds.",
  NO_MATCHING_BINDING: "No binding on the resource or its ancestors names this principal (directly, through a group or its domain) with a role that carries the permission.",
  CONDITION_NOT_MET: "A binding names the principal, but its condition is false (or errors) for this request.",
  DENIED_BY_POLICY: "A deny rule applies: deny policies are checked before any binding and beat every grant.",
  IAP_DISABLED: "IAP is off on this web resource: Gatehouse does not protect it, and grants no passage.",
  PRINCIPAL_DISABLED: "The principal is disabled: it is denied everywhere, whatever the bindings say.",
  UNAUTHENTICATED: "No identity: only allUsers bindings could grant it.",
  UNKNOWN_RESOURCE: "The resource is not in the hierarchy.",
};

const BINDING_RESULT: Record<BindingRow["result"], { label: string; tone: BadgeTone }> = {
  GRANTED: { label: "Grants", tone: "success" },
  CONDITION_FALSE: { label: "Condition false", tone: "danger" },
  CONDITION_ERROR: { label: "Condition error", tone: "danger" },
  MEMBER_NOT_MATCHED: { label: "Principal not a member", tone: "neutral" },
  ROLE_LACKS_PERMISSION: { label: "Role lacks permission", tone: "neutral" },
};

const DENY_RESULT: Record<DenyRow["result"], { label: string; tone: BadgeTone }> = {
  DENIED: { label: "Denies", tone: "danger" },
  CONDITION_ERROR: { label: "Condition error: denies", tone: "danger" },
  CONDITION_FALSE: { label: "Condition false", tone: "neutral" },
  PRINCIPAL_NOT_MATCHED: { label: "Principal not denied", tone: "neutral" },
  EXCEPTED_PRINCIPAL: { label: "Principal excepted", tone: "neutral" },
  PERMISSION_NOT_MATCHED: { label: "Permission not denied", tone: "neutral" },
};

function Via({ via }: { via: string[] }) {
  if (via.length < 2) return null;
  return (
    <p className="text-xs text-fg-muted">
      Through {via.slice(1, -1).length > 0 ? "groups: " : ""}
      {via.map((k, i) => (
        <span key={k}>
          {i > 0 ? <span aria-label="is a member of"> → </span> : null}
          <Code>{k}</Code>
        </span>
      ))}
    </p>
  );
}

function BindingItem({ b }: { b: BindingRow }) {
  const r = BINDING_RESULT[b.result];
  const failed = b.result === "CONDITION_FALSE" || b.result === "CONDITION_ERROR";
  return (
    <li className={failed ? "rounded-md border border-danger/30 bg-danger-soft/40 p-3" : "rounded-md border border-border p-3"} data-result={b.result}>
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone={r.tone} dot>
          {r.label}
        </Badge>
        <Code>{b.role}</Code>
        {b.roleTitle ? <span className="text-xs text-fg-muted">{b.roleTitle}</span> : null}
        <span className="ml-auto text-xs text-fg-subtle">binding #{b.index + 1}</span>
      </div>
      <div className="mt-2 space-y-1.5 text-sm">
        {b.member ? (
          <p>
            Matching member: <Code>{b.member}</Code>
          </p>
        ) : (
          <p className="text-fg-muted">
            Members ({b.memberCount}): {b.members.map((m) => m).join(", ")}
            {b.memberCount > b.members.length ? ", …" : ""}
          </p>
        )}
        {b.via ? <Via via={b.via} /> : null}
        {b.condition ? (
          <div>
            <p>
              Condition <strong>{b.condition.title}</strong>
              {b.result === "CONDITION_FALSE" ? " is false for this request" : b.result === "CONDITION_ERROR" ? " could not be evaluated (an error never grants)" : ""}:
            </p>
            <pre className="mt-1 overflow-x-auto rounded bg-surface-2 px-2 py-1 font-mono text-xs text-fg">{b.condition.expression}</pre>
            {b.error ? <p className="mt-1 text-xs font-medium text-danger-fg">Error: {b.error}</p> : null}
          </div>
        ) : null}
      </div>
    </li>
  );
}

function DenyItem({ d }: { d: DenyRow }) {
  const r = DENY_RESULT[d.result];
  const applied = d.result === "DENIED" || d.result === "CONDITION_ERROR";
  return (
    <li className={applied ? "rounded-md border border-danger/30 bg-danger-soft/40 p-3" : "rounded-md border border-border p-3"} data-result={d.result}>
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone={r.tone} dot>
          {r.label}
        </Badge>
        <span className="text-sm font-medium">Deny rule{d.policyName ? ` of ${d.policyName}` : ""}</span>
        <span className="ml-auto text-xs text-fg-subtle">
          policy #{d.policyIndex + 1}, rule #{d.ruleIndex + 1}
        </span>
      </div>
      <dl className="mt-2 grid grid-cols-[max-content_1fr] gap-x-3 gap-y-1 text-xs">
        <dt className="text-fg-subtle">Denied principals</dt>
        <dd className="break-all">{d.deniedPrincipals.join(", ") || "—"}</dd>
        {d.exceptionPrincipals.length > 0 ? (
          <>
            <dt className="text-fg-subtle">Exceptions</dt>
            <dd className="break-all">{d.exceptionPrincipals.join(", ")}</dd>
          </>
        ) : null}
        <dt className="text-fg-subtle">Denied permissions</dt>
        <dd className="break-all">{d.deniedPermissions.join(", ")}</dd>
        {d.condition ? (
          <>
            <dt className="text-fg-subtle">Condition</dt>
            <dd>
              <code className="font-mono">{d.condition.expression}</code>
              {d.error ? <span className="block font-medium text-danger-fg">Error: {d.error} (a deny rule whose condition errors denies)</span> : null}
            </dd>
          </>
        ) : null}
      </dl>
    </li>
  );
}

function NodeSection({ n, index }: { n: TraceNode; index: number }) {
  return (
    <li className="relative pl-6">
      <span aria-hidden="true" className="absolute top-1 -left-[7.5px] flex size-3.5 items-center justify-center rounded-full border-2 border-border-strong bg-surface" />
      <h3 className="text-sm font-semibold">
        <span className="sr-only">Level {index + 1}: </span>
        {n.displayName ? `${n.displayName} ` : ""}
        <Code>{n.name}</Code>
      </h3>
      {!n.visible ? (
        <p className="mt-1 text-sm text-fg-muted">You may not view this policy (its getIamPolicy permission is needed); its bindings are not shown.</p>
      ) : null}
      {n.deny.length > 0 ? (
        <ul className="mt-2 space-y-2" aria-label={`Deny rules on ${n.name}`}>
          {n.deny.map((d) => (
            <DenyItem key={`${d.policyIndex}-${d.ruleIndex}`} d={d} />
          ))}
        </ul>
      ) : null}
      {n.visible && n.bindings.length > 0 ? (
        <ul className="mt-2 space-y-2" aria-label={`Bindings on ${n.name}`}>
          {n.bindings.map((b) => (
            <BindingItem key={b.index} b={b} />
          ))}
        </ul>
      ) : null}
      {n.visible && n.bindings.length === 0 && n.deny.length === 0 ? (
        <p className="mt-1 text-sm text-fg-subtle">No binding here grants this permission.</p>
      ) : null}
      {n.visible && n.otherRoles > 0 ? (
        <p className="mt-1 text-xs text-fg-subtle">
          {n.otherRoles} other binding{n.otherRoles === 1 ? "" : "s"} with roles that do not carry the permission.
        </p>
      ) : null}
    </li>
  );
}

/** The decision and the trace along the hierarchy, from the organization down to the resource. */
export function TraceView({ view }: { view: TroubleshootView }) {
  const d = view.decision;
  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title={
            <span className="flex items-center gap-2">
              <Badge tone={d.allowed ? "success" : "danger"} dot>
                {d.allowed ? "Allowed" : "Denied"}
              </Badge>
              <span id="ts-reason">{d.reason}</span>
            </span>
          }
          description={`At policy revision ${d.revision}`}
        />
        <CardBody className="space-y-3 text-sm">
          <p>{REASONS[d.reason] ?? d.reason}</p>
          <dl className="grid grid-cols-1 gap-x-4 gap-y-1 sm:grid-cols-[max-content_1fr]">
            <dt className="text-fg-subtle">Principal</dt>
            <dd className="break-all">
              <Code>{d.principal ?? "anonymous"}</Code>
            </dd>
            <dt className="text-fg-subtle">Resource</dt>
            <dd className="break-all">
              <Code>{view.resource}</Code>
              {view.mappedFromHost ? <span className="ml-1 inline-block text-xs break-normal text-fg-muted">(mapped from the host)</span> : null}
            </dd>
            <dt className="text-fg-subtle">Permission</dt>
            <dd className="break-all">
              <Code>{d.permission}</Code>
            </dd>
            {d.grantedBy ? (
              <>
                <dt className="text-fg-subtle">Granted by</dt>
                <dd className="break-all">
                  <Code>{d.grantedBy.role}</Code> to <Code>{d.grantedBy.member}</Code> on <Code>{d.grantedBy.resource}</Code>
                  {d.grantedBy.condition ? ` if “${d.grantedBy.condition}”` : ""}
                </dd>
              </>
            ) : null}
            {d.deniedBy ? (
              <>
                <dt className="text-fg-subtle">Denied by</dt>
                <dd className="break-all">
                  rule #{d.deniedBy.ruleIndex + 1} of deny policy #{d.deniedBy.policyIndex + 1} on <Code>{d.deniedBy.attachedTo}</Code> (denies{" "}
                  <Code>{d.deniedBy.principal}</Code>)
                </dd>
              </>
            ) : null}
            <dt className="text-fg-subtle">Groups</dt>
            <dd className="break-all">{view.groups.length > 0 ? view.groups.join(", ") : "none"}</dd>
            <dt className="text-fg-subtle">Access levels met</dt>
            <dd className="break-all">{d.accessLevels.satisfied.join(", ") || "none"}</dd>
            <dt className="text-fg-subtle">Access levels not met</dt>
            <dd className={d.accessLevels.unsatisfied.length > 0 ? "font-medium break-all text-danger-fg" : "break-all"}>{d.accessLevels.unsatisfied.join(", ") || "none"}</dd>
          </dl>
          {view.notes.map((n) => (
            <p key={n} className="text-fg-muted">
              {n}
            </p>
          ))}
        </CardBody>
      </Card>

      <Card>
        <CardHeader title="Request attributes" description="What conditions saw (host and path normalised as IAP does)." />
        <CardBody>
          <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]">
            {view.attributes.map((a) => (
              <div key={a.name} className="contents">
                <dt className="font-mono text-xs text-fg-subtle">{a.name}</dt>
                <dd className="font-mono text-xs break-all">{a.value}</dd>
              </div>
            ))}
          </dl>
        </CardBody>
      </Card>

      <section aria-labelledby="ts-trace">
        <h2 id="ts-trace" className="mb-1 text-base font-semibold">
          Trace along the hierarchy
        </h2>
        <p className="mb-4 text-sm text-fg-muted">Deny rules first, then every binding whose role carries the permission, from the organization down to the resource.</p>
        <ol className="space-y-5 border-l border-border pl-0">
          {view.nodes.map((n, i) => (
            <NodeSection key={n.name} n={n} index={i} />
          ))}
        </ol>
      </section>
    </div>
  );
}
