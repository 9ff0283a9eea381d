// The Audit API's routes (DESIGN.md §6, Audit API), answered by lib/admin/http.ts like the rest of
// the admin API (bearer ID token, or the console's cookie).
import { z } from "zod";
import { stringify } from "csv-stringify/sync";
import { route } from "@/lib/admin/routes";
import { CSV_COLUMNS, csvRow, type AuditLogEntry } from "./entry";
import { exportAuditLogs, listAuditLogs, ZAuditExportQuery, ZAuditListQuery } from "./search";

/** NDJSON: one Cloud Audit Log entry per line. */
export async function* ndjsonLines(entries: AsyncIterable<AuditLogEntry>): AsyncGenerator<string> {
  for await (const e of entries) yield `${JSON.stringify(e)}\n`;
}

/** CSV (RFC 4180, by csv-stringify): a header line, then one row per entry. */
export async function* csvLines(entries: AsyncIterable<AuditLogEntry>): AsyncGenerator<string> {
  yield stringify([], { header: true, columns: [...CSV_COLUMNS] });
  for await (const e of entries) yield stringify([csvRow(e)], { columns: [...CSV_COLUMNS] });
}

const ZEntry = z.object({ logName: z.string(), insertId: z.string(), timestamp: z.string(), severity: z.string(), resource: z.object({}).passthrough(), protoPayload: z.object({}).passthrough() });

export const auditLogRoutes = [
  route({
    method: "GET",
    path: "/api/v1/auditLogs",
    tag: "Audit logs",
    summary:
      "List audit log entries (Cloud Audit Log shape), newest first. data_access needs logging.privateLogEntries.list, admin_activity logging.logEntries.list; a reader sees the part of the hierarchy they hold it on",
    query: ZAuditListQuery,
    response: z.object({ entries: z.array(ZEntry), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listAuditLogs(admin, req.query) }),
  }),
  route({
    method: "GET",
    path: "/api/v1/auditLogs:export",
    tag: "Audit logs",
    summary: "Export every matching entry as NDJSON (one Cloud Audit Log entry per line) or CSV, streamed",
    query: ZAuditExportQuery,
    handler: async (admin, req) => {
      const { format, entries } = await exportAuditLogs(admin, req.query);
      const name = `gatehouse-${req.query.stream}.${format}`;
      return {
        headers: { "content-disposition": `attachment; filename="${name}"` },
        stream: format === "csv" ? { contentType: "text/csv; charset=utf-8", chunks: csvLines(entries) } : { contentType: "application/x-ndjson; charset=utf-8", chunks: ndjsonLines(entries) },
      };
    },
  }),
];
