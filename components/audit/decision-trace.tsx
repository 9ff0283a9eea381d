import type { TraceEntry } from "@/lib/policy";
import { Badge, Code, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow, type BadgeTone } from "@/components/ui";

const TONE: Record<string, BadgeTone> = {
  GRANTED: "success",
  DENIED: "danger",
  CONDITION_FALSE: "warning",
  CONDITION_ERROR: "danger",
  MEMBER_NOT_MATCHED: "neutral",
  ROLE_LACKS_PERMISSION: "neutral",
  PRINCIPAL_NOT_MATCHED: "neutral",
  EXCEPTED_PRINCIPAL: "info",
  PERMISSION_NOT_MATCHED: "neutral",
};

const WORDS: Record<string, string> = {
  GRANTED: "Granted",
  DENIED: "Denied",
  CONDITION_FALSE: "Condition false",
  CONDITION_ERROR: "Condition error",
  MEMBER_NOT_MATCHED: "Member not matched",
  ROLE_LACKS_PERMISSION: "Role lacks permission",
  PRINCIPAL_NOT_MATCHED: "Principal not matched",
  EXCEPTED_PRINCIPAL: "Excepted principal",
  PERMISSION_NOT_MATCHED: "Permission not matched",
};

/** The core's trace as a table: every binding and deny rule along the hierarchy, and how it fared. */
export function DecisionTrace({ trace }: { trace: readonly TraceEntry[] }) {
  const notes = trace.filter((t): t is Extract<TraceEntry, { kind: "note" }> => t.kind === "note");
  const rows = trace.filter((t) => t.kind !== "note");
  return (
    <div className="space-y-3">
      {rows.length ? (
        <Table aria-label="Evaluation trace">
          <TableHead>
            <TableRow>
              <TableHeaderCell>Kind</TableHeaderCell>
              <TableHeaderCell>Where</TableHeaderCell>
              <TableHeaderCell>Role or rule</TableHeaderCell>
              <TableHeaderCell>Member</TableHeaderCell>
              <TableHeaderCell>Condition</TableHeaderCell>
              <TableHeaderCell>Result</TableHeaderCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {rows.map((t, i) =>
              t.kind === "binding" ? (
                <TableRow key={i}>
                  <TableCell className="whitespace-nowrap">Allow binding</TableCell>
                  <TableCell>
                    <Code className="break-all">{t.resource}</Code>
                  </TableCell>
                  <TableCell>
                    <Code className="break-all">{t.role}</Code>
                  </TableCell>
                  <TableCell>{t.member ? <Code className="break-all">{t.member}</Code> : "—"}</TableCell>
                  <TableCell>{t.condition ?? "—"}</TableCell>
                  <TableCell>
                    <Badge tone={TONE[t.result] ?? "neutral"}>{WORDS[t.result] ?? t.result}</Badge>
                    {t.error ? <p className="mt-1 text-xs text-danger-fg">{t.error}</p> : null}
                  </TableCell>
                </TableRow>
              ) : t.kind === "deny" ? (
                <TableRow key={i}>
                  <TableCell className="whitespace-nowrap">Deny rule</TableCell>
                  <TableCell>
                    <Code className="break-all">{t.attachedTo}</Code>
                  </TableCell>
                  <TableCell>
                    Policy {t.policyIndex + 1}, rule {t.ruleIndex + 1}
                  </TableCell>
                  <TableCell>—</TableCell>
                  <TableCell>—</TableCell>
                  <TableCell>
                    <Badge tone={TONE[t.result] ?? "neutral"}>{WORDS[t.result] ?? t.result}</Badge>
                    {t.error ? <p className="mt-1 text-xs text-danger-fg">{t.error}</p> : null}
                  </TableCell>
                </TableRow>
              ) : null,
            )}
          </TableBody>
        </Table>
      ) : null}
      {notes.length ? (
        <ul className="list-disc space-y-1 pl-5 text-sm text-fg-muted">
          {notes.map((n, i) => (
            <li key={i}>{n.message}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
