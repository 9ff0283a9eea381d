// A stored audit record as a Cloud Audit Log entry (google.logging.v2.LogEntry whose protoPayload
// is a google.cloud.audit.AuditLog), so that a pipeline or a script written for Google's audit
// logs reads Gatehouse's unchanged. The one mapping for the Audit API, its export, the file sink
// and the console. Gatehouse's own facts that Google's schema has no field for (the reason code,
// the deciding binding, the revision, the latency) go into `protoPayload.metadata`, the AuditLog's
// service-specific struct.
import { resourceTypeOf } from "@/lib/policy/resources";
import type { HashedAdminActivity } from "./admin";
import type { DataAccessRecord, StoredDataAccess } from "./decisions";

export const AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog";
const AUDIT_DATA_TYPE = "type.googleapis.com/google.iam.v1.logging.AuditData";

export type AuditStream = "admin_activity" | "data_access";

/** What the LogEntry's `logName` ends in, per stream (URL-encoded "/", as Google writes it). */
const LOG_ID: Record<AuditStream, string> = {
  admin_activity: "cloudaudit.googleapis.com%2Factivity",
  data_access: "cloudaudit.googleapis.com%2Fdata_access",
};

/** google.rpc.Status; `{}` is OK. */
export interface RpcStatus {
  code?: number;
  message?: string;
}

export interface AuditLogEntry {
  logName: string;
  insertId: string;
  timestamp: string;
  receiveTimestamp: string;
  severity: "INFO" | "NOTICE" | "WARNING" | "ERROR";
  resource: { type: string; labels: Record<string, string> };
  protoPayload: {
    "@type": typeof AUDIT_LOG_TYPE;
    status: RpcStatus;
    authenticationInfo: { principalEmail?: string; principalSubject?: string };
    requestMetadata: {
      callerIp?: string;
      callerSuppliedUserAgent?: string;
      requestAttributes: Record<string, unknown>;
      destinationAttributes: Record<string, unknown>;
    };
    serviceName: string;
    methodName: string;
    authorizationInfo: { resource: string; permission?: string; granted: boolean; resourceAttributes?: Record<string, string> }[];
    resourceName: string;
    request?: unknown;
    response?: unknown;
    serviceData?: unknown;
    metadata: Record<string, unknown>;
  };
}

/** A DataAccessLog row as read (JSON columns untyped): the write side's own type. */
export type DataAccessRow = StoredDataAccess;

/** An AdminActivityLog row as read: the write side's hashed fields and the status. */
export type AdminActivityRow = HashedAdminActivity & { status: unknown };

/**
 * The log a record belongs to: the project, folder or organization its resource name lies in;
 * records about what belongs to the whole instance (groups, users, access policies, proxy keys)
 * go to `organizations/-`.
 */
export function logParent(resourceName: string): string {
  const m = /^(projects|folders|organizations)\/([^/]+)/.exec(resourceName);
  return m ? `${m[1]}/${m[2]}` : "organizations/-";
}

/** The monitored resource (LogEntry.resource) of a resource name, with Google's types and labels. */
export function monitoredResource(resourceName: string): { type: string; labels: Record<string, string> } {
  const project = /^projects\/([^/]+)/.exec(resourceName)?.[1];
  let m: RegExpExecArray | null;
  if ((m = /^projects\/[^/]+\/iap_web\/compute\/services\/([^/]+)/.exec(resourceName))) return { type: "gce_backend_service", labels: { project_id: project!, backend_service_id: m[1]!, location: "global" } };
  if ((m = /^projects\/[^/]+\/iap_web\/appengine-([^/]+)(?:\/services\/([^/]+))?(?:\/versions\/([^/]+))?/.exec(resourceName))) {
    return { type: "gae_app", labels: { project_id: project!, module_id: m[2] ?? "", version_id: m[3] ?? "", zone: "" } };
  }
  if ((m = /^projects\/[^/]+\/(?:iap_web\/cloud_run-([^/]+)|locations\/([^/]+))\/services\/([^/]+)/.exec(resourceName))) {
    return { type: "cloud_run_revision", labels: { project_id: project!, location: m[1] ?? m[2]!, service_name: m[3]!, revision_name: "", configuration_name: "" } };
  }
  if ((m = /^projects\/[^/]+\/locations\/([^/]+)\/functions\/([^/]+)/.exec(resourceName))) return { type: "cloud_function", labels: { project_id: project!, region: m[1]!, function_name: m[2]! } };
  if ((m = /^projects\/[^/]+\/iap_tunnel\/zones\/([^/]+)\/instances\/([^/]+)/.exec(resourceName))) return { type: "gce_instance", labels: { project_id: project!, zone: m[1]!, instance_id: m[2]! } };
  if (project) return { type: "project", labels: { project_id: project } };
  if ((m = /^folders\/([^/]+)/.exec(resourceName))) return { type: "folder", labels: { folder_id: m[1]! } };
  if ((m = /^organizations\/([^/]+)/.exec(resourceName))) return { type: "organization", labels: { organization_id: m[1]! } };
  return { type: "audited_resource", labels: { service: "gatehouse", method: "" } };
}

/** Reading logs is recorded in the data-access stream too, under the permission it needed. */
export function isLogRead(permission: string): boolean {
  return permission.startsWith("logging.");
}

/** protoPayload.methodName of a data-access record: a decision, or a read of the logs. */
export function dataAccessMethod(permission: string): "AuthorizeUser" | "ListLogEntries" {
  return isLogRead(permission) ? "ListLogEntries" : "AuthorizeUser";
}

/** The API service that owns a permission (`iap.googleapis.com` for `iap.…`). */
function serviceOfPermission(permission: string): string {
  return `${permission.slice(0, permission.indexOf(".")) || "iap"}.googleapis.com`;
}

/** google.rpc.Code of a decision that did not grant, by reason. */
const DENIED_STATUS: Record<string, RpcStatus> = {
  UNAUTHENTICATED: { code: 16, message: "UNAUTHENTICATED" },
  UNKNOWN_RESOURCE: { code: 5, message: "NOT_FOUND" },
  IAP_DISABLED: { code: 9, message: "FAILED_PRECONDITION" },
};

function rpcStatus(stored: unknown): RpcStatus | null {
  if (stored === null || typeof stored !== "object") return null;
  const s = stored as { code?: unknown; message?: unknown };
  return { ...(typeof s.code === "number" ? { code: s.code } : {}), ...(typeof s.message === "string" ? { message: s.message } : {}) };
}

/**
 * A JSON value with its object keys sorted: PostgreSQL's jsonb keeps its own key order, so the
 * same record reads back the same whether it comes from memory (the sink) or the database — and
 * hashes the same (the decision log's canonical JSON, lib/audit/decisions.ts).
 */
export function sortedKeys(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(sortedKeys);
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = sortedKeys(o[k]);
  return out;
}

function emailOf(principal: string | null): string | undefined {
  if (!principal) return undefined;
  const i = principal.indexOf(":");
  return i >= 0 ? principal.slice(i + 1) : principal;
}

/** A stored destination (jsonb, untyped when read back), keeping only well-typed fields. */
export function storedDestination(v: unknown): DataAccessRecord["destination"] {
  if (v === null || typeof v !== "object") return null;
  const d = v as { ip?: unknown; port?: unknown };
  return { ...(typeof d.ip === "string" ? { ip: d.ip } : {}), ...(typeof d.port === "number" ? { port: d.port } : {}) };
}

/** AttributeContext.Peer of a tunnel check's target (port an int64: a string in JSON). */
function destinationAttributes(v: unknown): Record<string, string> {
  const d = storedDestination(v);
  return { ...(d?.ip !== undefined ? { ip: d.ip } : {}), ...(d?.port !== undefined ? { port: String(d.port) } : {}) };
}

export function dataAccessEntry(r: DataAccessRow): AuditLogEntry {
  const time = r.timestamp.toISOString();
  const status = dataAccessStatus(r);
  const parts = resourceParts(r.resourceName);
  const email = emailOf(r.principal);
  return {
    logName: parts.logName,
    insertId: r.decisionId,
    timestamp: time,
    receiveTimestamp: time,
    severity: r.granted ? "INFO" : "NOTICE",
    resource: parts.resource,
    protoPayload: {
      "@type": AUDIT_LOG_TYPE,
      status,
      authenticationInfo: r.principal ? { ...(email ? { principalEmail: email } : {}), principalSubject: r.principal } : {},
      requestMetadata: {
        ...(r.callerIp ? { callerIp: r.callerIp } : {}),
        requestAttributes: {
          ...(r.method ? { method: r.method } : {}),
          ...(r.host ? { host: r.host } : {}),
          ...(r.path ? { path: r.path } : {}),
          time: r.whatIfTime ? r.whatIfTime.toISOString() : time,
          auth: { accessLevels: r.accessLevels },
        },
        destinationAttributes: destinationAttributes(r.destination),
      },
      serviceName: serviceOfPermission(r.permission),
      methodName: dataAccessMethod(r.permission),
      authorizationInfo: [
        {
          resource: r.resourceName,
          permission: r.permission,
          granted: r.granted,
          resourceAttributes: parts.resourceAttributes,
        },
      ],
      resourceName: r.resourceName,
      metadata: {
        reason: r.reason,
        revision: r.revision.toString(),
        latencyUs: r.latencyUs,
        ...(r.decidedBy ? { decidedBy: sortedKeys(r.decidedBy) } : {}),
        ...(r.unsatisfiedLevels.length ? { unsatisfiedAccessLevels: r.unsatisfiedLevels } : {}),
        ...(r.proxyCredentialId ? { proxyCredentialId: r.proxyCredentialId } : {}),
        ...(r.whatIfTime ? { whatIfTime: r.whatIfTime.toISOString() } : {}),
        ...(r.regionCode ? { regionCode: r.regionCode } : {}),
      },
    },
  };
}

/**
 * `JSON.stringify(dataAccessEntry(r))`, the same text, built without the entry: the line the file
 * sink ships for every decision (~13 µs a record through the object, a few µs this way; what
 * derives from the resource name or the permission is serialised once per name). entry.test.ts
 * pins the equality across the optional fields.
 */
export function dataAccessEntryJson(r: DataAccessRow): string {
  const parts = resourceParts(r.resourceName);
  const perm = permissionParts(r.permission);
  const time = JSON.stringify(isoTime(r.timestamp));
  const status = dataAccessStatus(r);
  const email = emailOf(r.principal);
  const authn = r.principal ? `{${email ? `"principalEmail":${JSON.stringify(email)},` : ""}"principalSubject":${JSON.stringify(r.principal)}}` : "{}";
  const attrs =
    (r.method ? `"method":${JSON.stringify(r.method)},` : "") +
    (r.host ? `"host":${JSON.stringify(r.host)},` : "") +
    (r.path ? `"path":${JSON.stringify(r.path)},` : "") +
    `"time":${r.whatIfTime ? JSON.stringify(r.whatIfTime.toISOString()) : time},"auth":{"accessLevels":${JSON.stringify(r.accessLevels)}}`;
  const metadata =
    `"reason":${JSON.stringify(r.reason)},"revision":"${r.revision.toString()}","latencyUs":${JSON.stringify(r.latencyUs)}` +
    (r.decidedBy ? `,"decidedBy":${JSON.stringify(sortedKeys(r.decidedBy))}` : "") +
    (r.unsatisfiedLevels.length ? `,"unsatisfiedAccessLevels":${JSON.stringify(r.unsatisfiedLevels)}` : "") +
    (r.proxyCredentialId ? `,"proxyCredentialId":${JSON.stringify(r.proxyCredentialId)}` : "") +
    (r.whatIfTime ? `,"whatIfTime":${JSON.stringify(r.whatIfTime.toISOString())}` : "") +
    (r.regionCode ? `,"regionCode":${JSON.stringify(r.regionCode)}` : "");
  return (
    `{"logName":${parts.json.logName},"insertId":${JSON.stringify(r.decisionId)},"timestamp":${time},"receiveTimestamp":${time},` +
    `"severity":"${r.granted ? "INFO" : "NOTICE"}","resource":${parts.json.resource},"protoPayload":{"@type":"${AUDIT_LOG_TYPE}",` +
    `"status":${JSON.stringify(status)},"authenticationInfo":${authn},"requestMetadata":{${r.callerIp ? `"callerIp":${JSON.stringify(r.callerIp)},` : ""}` +
    `"requestAttributes":{${attrs}},"destinationAttributes":${JSON.stringify(destinationAttributes(r.destination))}},` +
    `${perm},"authorizationInfo":[{"resource":${parts.json.name},"permission":${JSON.stringify(r.permission)},"granted":${r.granted},` +
    `"resourceAttributes":${parts.json.resourceAttributes}}],"resourceName":${parts.json.name},"metadata":{${metadata}}}}`
  );
}

/** The status of a decision: as stored, else OK when granted, else its reason's google.rpc code. */
function dataAccessStatus(r: DataAccessRow): RpcStatus {
  return rpcStatus(r.status) ?? (r.granted ? {} : (DENIED_STATUS[r.reason] ?? { code: 7, message: "PERMISSION_DENIED" }));
}

/**
 * `d.toISOString()`, remembered for the last millisecond asked: it costs ~1–2 µs, and at decision
 * rates many records share a millisecond (the decision log's COPY lines and hashes use it too).
 */
let lastIso = { ms: NaN, text: "" };
export function isoTime(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastIso.ms) lastIso = { ms, text: d.toISOString() };
  return lastIso.text;
}

/** `"serviceName":…,"methodName":…` of a permission, kept per permission (bounded like resourceParts). */
const permissionPartsCache = new Map<string, string>();
function permissionParts(permission: string): string {
  let json = permissionPartsCache.get(permission);
  if (json === undefined) {
    if (permissionPartsCache.size >= 1000) permissionPartsCache.clear();
    json = `"serviceName":${JSON.stringify(serviceOfPermission(permission))},"methodName":"${dataAccessMethod(permission)}"`;
    permissionPartsCache.set(permission, json);
  }
  return json;
}

/** What a data-access entry derives from its resource name alone: the same for every decision on it. */
interface ResourceParts {
  logName: string;
  resource: AuditLogEntry["resource"];
  resourceAttributes: Record<string, string>;
  /** The same, serialised (and the name itself), for dataAccessEntryJson. */
  json: { logName: string; resource: string; resourceAttributes: string; name: string };
}

/**
 * The resource-derived parts of data-access entries, kept per name (frozen: entries share them):
 * an export, a page or the file sink shapes many records of few resources, and deriving them is
 * a quarter of the cost of shaping an entry (~3 of ~13 µs).
 */
const resourcePartsCache = new Map<string, ResourceParts>();
function resourceParts(resourceName: string): ResourceParts {
  let parts = resourcePartsCache.get(resourceName);
  if (!parts) {
    // Bounded: names come from decisions and requests, and a refused request's may be anything.
    if (resourcePartsCache.size >= 10_000) resourcePartsCache.clear();
    const type = resourceTypeOf(resourceName);
    const resource = monitoredResource(resourceName);
    const logName = `${logParent(resourceName)}/logs/${LOG_ID.data_access}`;
    const resourceAttributes = { name: resourceName, ...(type ? { type, service: type.slice(0, type.indexOf("/")) } : {}) };
    parts = Object.freeze({
      logName,
      resource: Object.freeze({ type: resource.type, labels: Object.freeze(resource.labels) }),
      resourceAttributes: Object.freeze(resourceAttributes),
      json: Object.freeze({ logName: JSON.stringify(logName), resource: JSON.stringify(resource), resourceAttributes: JSON.stringify(resourceAttributes), name: JSON.stringify(resourceName) }),
    });
    resourcePartsCache.set(resourceName, parts);
  }
  return parts;
}

export function adminActivityEntry(r: AdminActivityRow): AuditLogEntry {
  const time = r.timestamp.toISOString();
  const status = rpcStatus(r.status) ?? {};
  const deltas = Array.isArray(r.bindingDeltas) ? r.bindingDeltas : null;
  const system = r.actor.startsWith("system:");
  return {
    logName: `${logParent(r.resourceName)}/logs/${LOG_ID.admin_activity}`,
    insertId: r.insertId,
    timestamp: time,
    receiveTimestamp: time,
    severity: status.code ? "ERROR" : "NOTICE",
    resource: monitoredResource(r.resourceName),
    protoPayload: {
      "@type": AUDIT_LOG_TYPE,
      status,
      // Gatehouse's own actors (system:cli, system:seed) are named as such, not as an email.
      authenticationInfo: system ? { principalSubject: r.actor } : { principalEmail: r.actor },
      requestMetadata: {
        ...(r.callerIp ? { callerIp: r.callerIp } : {}),
        ...(r.userAgent ? { callerSuppliedUserAgent: r.userAgent } : {}),
        requestAttributes: { time },
        destinationAttributes: {},
      },
      serviceName: r.serviceName,
      methodName: r.methodName,
      // The permission each change needed is not stored with it; the change was authorised.
      authorizationInfo: [{ resource: r.resourceName, granted: true }],
      resourceName: r.resourceName,
      ...(r.request !== null && r.request !== undefined ? { request: r.request } : {}),
      ...(r.response !== null && r.response !== undefined ? { response: r.response } : {}),
      ...(deltas ? { serviceData: { "@type": AUDIT_DATA_TYPE, policyDelta: { bindingDeltas: deltas } } } : {}),
      metadata: r.revision !== null ? { revision: r.revision.toString() } : {},
    },
  };
}

/** The CSV export's columns, in order; one row per entry (nested values as JSON). */
export const CSV_COLUMNS = [
  "timestamp",
  "logName",
  "insertId",
  "serviceName",
  "methodName",
  "principal",
  "resourceName",
  "permission",
  "granted",
  "reason",
  "statusCode",
  "callerIp",
  "method",
  "host",
  "path",
  "revision",
  "details",
] as const;

export function csvRow(e: AuditLogEntry): Record<(typeof CSV_COLUMNS)[number], string> {
  const p = e.protoPayload;
  const auth = p.authorizationInfo[0];
  const attrs = p.requestMetadata.requestAttributes as { method?: string; host?: string; path?: string };
  const { reason, revision, ...rest } = p.metadata as { reason?: string; revision?: string };
  const details = { ...rest, ...(p.serviceData ? { bindingDeltas: (p.serviceData as { policyDelta: { bindingDeltas: unknown } }).policyDelta.bindingDeltas } : {}) };
  return {
    timestamp: e.timestamp,
    logName: e.logName,
    insertId: e.insertId,
    serviceName: p.serviceName,
    methodName: p.methodName,
    principal: p.authenticationInfo.principalSubject ?? p.authenticationInfo.principalEmail ?? "",
    resourceName: p.resourceName,
    permission: auth?.permission ?? "",
    granted: auth ? String(auth.granted) : "",
    reason: reason ?? "",
    statusCode: String(p.status.code ?? 0),
    callerIp: p.requestMetadata.callerIp ?? "",
    method: attrs.method ?? "",
    host: attrs.host ?? "",
    path: attrs.path ?? "",
    revision: revision ?? "",
    details: Object.keys(details).length ? JSON.stringify(details) : "",
  };
}
