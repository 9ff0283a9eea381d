import { Badge, Code, Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow, type BadgeTone } from "@/components/ui";
import type { Access, AccessRow } from "@/lib/console/effective-access";

const ACCESS: Record<Access, { label: string; tone: BadgeTone }> = {
  GRANTED: { label: "Granted", tone: "success" },
  CONDITIONAL: { label: "Conditional", tone: "warning" },
  DENIED_BY_POLICY: { label: "Denied by policy", tone: "danger" },
  PRINCIPAL_DISABLED: { label: "Disabled", tone: "danger" },
  IAP_DISABLED: { label: "IAP off", tone: "neutral" },
};

/** The rows of an effective-access answer; `subject` is the column that varies (principal or resource). */
export function AccessTable({ rows, subject, caption }: { rows: AccessRow[]; subject: "principal" | "resource"; caption: string }) {
  return (
    <Table aria-label={caption} className="table-fixed">
      <TableHead>
        <tr>
          <TableHeaderCell className="w-[30%]">{subject === "principal" ? "Principal" : "Resource"}</TableHeaderCell>
          <TableHeaderCell className="w-[9rem]">Access</TableHeaderCell>
          <TableHeaderCell>Reason</TableHeaderCell>
        </tr>
      </TableHead>
      <TableBody>
        {rows.map((r, i) => {
          const a = ACCESS[r.access];
          return (
            <TableRow key={`${r[subject]}-${r.grantedOn}-${r.role}-${r.member}-${i}`}>
              <TableCell className="align-top break-all">
                <Code>{r[subject]}</Code>
              </TableCell>
              <TableCell className="align-top">
                <Badge tone={a.tone} dot>
                  {a.label}
                </Badge>
              </TableCell>
              <TableCell className="align-top text-xs break-words text-fg-muted">
                <span className="text-fg">{r.role}</span> on <Code>{r.grantedOn}</Code> to <Code>{r.member}</Code>
                {r.condition !== undefined ? <> if “{r.condition}”</> : null}
                {r.via.length > 2 ? <span className="block">via {r.via.slice(1, -1).join(" → ")}</span> : null}
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
