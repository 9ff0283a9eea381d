// The console's audit pages read through here: the same listAuditLogs the Audit API answers with
// (lib/audit/search.ts — its authorisation, scoping, paging and recording of the read), with the
// signed-in user's context. The page is URL-driven: its filters are the API's query parameters,
// so a filtered view is a shareable link, and its export links are the API's export with them.
import { z } from "zod";
import { consoleAdmin } from "./admin";
import { adminDeps } from "@/lib/decide/registry";
import { AppError } from "@/lib/errors";
import { parse } from "@/lib/admin/validation";
import { listAuditLogs, ZAuditListQuery } from "@/lib/audit/search";
import type { AuditLogEntry, AuditStream } from "@/lib/audit/entry";

export const AUDIT_FILTERS = ["principal", "resource", "method", "permission", "granted", "reason", "startTime", "endTime", "q"] as const;
export type AuditFilterName = (typeof AUDIT_FILTERS)[number];

export interface AuditRow {
  insertId: string;
  timestamp: string;
  principal: string;
  methodName: string;
  serviceName: string;
  resourceName: string;
  /** Data access: the decision. */
  granted?: boolean;
  reason?: string;
  permission?: string;
  callerIp?: string;
  request?: string;
  /** Admin activity: "+ role member" / "- role member" lines. */
  deltas: string[];
  /** The console page that explains a decision at its revision. */
  whyHref?: string;
  /** The whole entry, pretty-printed, for the details dialog. */
  json: string;
}

export interface AuditView {
  stream: AuditStream;
  /** The filters as the form shows them (as given in the URL). */
  filters: Partial<Record<AuditFilterName, string>>;
  rows: AuditRow[];
  /** Link to the next (older) page; absent on the last. */
  nextHref?: string;
  /** Whether this is a later page (a link back to the newest). */
  paged: boolean;
  exportHref: { ndjson: string; csv: string };
  /** A refusal: the filters were invalid (errors by field) or the user may not read this stream. */
  error?: { kind: "invalid"; message: string; fields: Partial<Record<AuditFilterName, string>> } | { kind: "denied"; message: string };
}

type SearchParams = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** `<input type="datetime-local">` gives "2026-12-01T09:00" (no zone): the form's times are UTC. */
function rfc3339(v: string | undefined): string | undefined {
  if (!v) return undefined;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v) ? `${v}:00Z` : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(v) ? `${v}Z` : v;
}

function href(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  return `${path}?${q.toString()}`;
}

function row(e: AuditLogEntry, stream: AuditStream): AuditRow {
  const p = e.protoPayload;
  const auth = p.authorizationInfo[0];
  const attrs = p.requestMetadata.requestAttributes as { method?: string; host?: string; path?: string };
  const meta = p.metadata as { reason?: string };
  const deltas = ((p.serviceData as { policyDelta?: { bindingDeltas?: { action: string; role: string; member: string; condition?: { title?: string } }[] } } | undefined)?.policyDelta?.bindingDeltas ?? []).map(
    (d) => `${d.action === "ADD" ? "+" : "−"} ${d.role} ${d.member}${d.condition?.title ? ` if "${d.condition.title}"` : ""}`,
  );
  return {
    insertId: e.insertId,
    timestamp: e.timestamp,
    principal: p.authenticationInfo.principalSubject ?? p.authenticationInfo.principalEmail ?? "anonymous",
    methodName: p.methodName,
    serviceName: p.serviceName,
    resourceName: p.resourceName,
    deltas,
    json: JSON.stringify(e, null, 2),
    ...(stream === "data_access" && auth
      ? {
          granted: auth.granted,
          ...(meta.reason ? { reason: meta.reason } : {}),
          ...(auth.permission ? { permission: auth.permission } : {}),
          ...(attrs.host || attrs.path ? { request: `${attrs.method ?? ""} ${attrs.host ?? ""}${attrs.path ?? ""}`.trim() } : {}),
          ...(p.methodName === "AuthorizeUser" ? { whyHref: `/audit/decisions/${encodeURIComponent(e.insertId)}` } : {}),
        }
      : {}),
    ...(p.requestMetadata.callerIp ? { callerIp: p.requestMetadata.callerIp } : {}),
  };
}

const ZStream = z.enum(["admin_activity", "data_access"]).catch("admin_activity");

/** The audit page for the signed-in user and the URL's filters. */
export async function auditView(searchParams: SearchParams): Promise<AuditView> {
  const stream = ZStream.parse(first(searchParams.stream));
  const filters: AuditView["filters"] = {};
  for (const k of AUDIT_FILTERS) {
    const v = first(searchParams[k])?.trim();
    if (v) filters[k] = v;
  }
  const pageToken = first(searchParams.pageToken) || undefined;
  const query = { stream, ...filters, startTime: rfc3339(filters.startTime), endTime: rfc3339(filters.endTime) };
  const exportHref = {
    ndjson: href("/api/v1/auditLogs:export", { ...query, format: "ndjson" }),
    csv: href("/api/v1/auditLogs:export", { ...query, format: "csv" }),
  };
  const base: AuditView = { stream, filters, rows: [], paged: pageToken !== undefined, exportHref };
  const { ctx } = await consoleAdmin();
  const { accessLog } = adminDeps();
  try {
    const parsed = parse(ZAuditListQuery, { ...query, pageSize: "50", ...(pageToken ? { pageToken } : {}) });
    const page = await listAuditLogs({ ...ctx, ...(accessLog ? { accessLog } : {}) }, parsed);
    return {
      ...base,
      rows: page.entries.map((e) => row(e, stream)),
      ...(page.nextPageToken ? { nextHref: href("/audit", { stream, ...filters, pageToken: page.nextPageToken }) } : {}),
    };
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    if (e.code === "PERMISSION_DENIED") return { ...base, error: { kind: "denied", message: e.message } };
    if (e.code === "INVALID_ARGUMENT") {
      const fields: Partial<Record<AuditFilterName, string>> = {};
      for (const d of e.details) {
        const name = d.path as AuditFilterName;
        if ((AUDIT_FILTERS as readonly string[]).includes(name)) fields[name] ??= d.message;
      }
      return { ...base, error: { kind: "invalid", message: e.message, fields } };
    }
    throw e;
  }
}
