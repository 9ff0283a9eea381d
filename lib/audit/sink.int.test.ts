// The file sink against real decisions: every line the pipeline receives parses as a Cloud Audit
// Log entry, one per decision answered (insertId = decisionId); with PostgreSQL storage off nothing
// reaches the table; with it on, the shipped lines are exactly what the Audit API exports.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { createProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { hotPathServer, startDecisionStack, type DecisionStack } from "@/lib/decide/stack";
import { AUDIT_LOG_TYPE } from "./entry";
import { exportAuditLogs, ZAuditExportQuery } from "./search";
import { ndjsonLines } from "./routes";

const APP = "projects/demo/iap_web/compute/services/web";
const WORLD = {
  organizations: [{ id: "1", displayName: "Acme", domain: "acme.test" }],
  projects: [{ id: "demo", number: "100200300", parent: "organizations/1" }],
  resources: [{ name: APP, iap: true, hosts: ["web.acme.test"] }],
  users: [{ email: "alice@acme.test" }, { email: "bob@acme.test" }],
  policies: [{ resource: APP, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["user:alice@acme.test"] }] }],
};

/** google.logging.v2.LogEntry with a google.cloud.audit.AuditLog payload, as a pipeline would check it. */
const ZCloudAuditLogEntry = z.object({
  logName: z.string().regex(/^(projects|folders|organizations)\/[^/]+\/logs\/cloudaudit\.googleapis\.com%2Fdata_access$/),
  insertId: z.string().min(1),
  timestamp: z.iso.datetime(),
  receiveTimestamp: z.iso.datetime(),
  severity: z.enum(["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]),
  resource: z.object({ type: z.string(), labels: z.record(z.string(), z.string()) }),
  protoPayload: z.object({
    "@type": z.literal(AUDIT_LOG_TYPE),
    serviceName: z.string(),
    methodName: z.literal("AuthorizeUser"),
    resourceName: z.string(),
    status: z.object({ code: z.number().int().optional(), message: z.string().optional() }),
    authenticationInfo: z.object({ principalEmail: z.string().optional(), principalSubject: z.string().optional() }),
    authorizationInfo: z.array(z.object({ resource: z.string(), permission: z.string(), granted: z.boolean() })).length(1),
    requestMetadata: z.object({ callerIp: z.string().optional(), requestAttributes: z.record(z.string(), z.unknown()), destinationAttributes: z.record(z.string(), z.unknown()) }),
    metadata: z.object({ reason: z.string(), revision: z.string() }).loose(),
  }),
});

let t: TestDatabase | undefined;
let stack: DecisionStack | undefined;
let server: Server | undefined;
const dirs: string[] = [];

afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  await stack?.stop();
  await t?.drop();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  server = stack = t = undefined;
});

async function start(store: boolean) {
  t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(JSON.stringify(WORLD)), { actor: "test", catalog: worldCatalog() });
  const key = (await createProxyKey({ db: t.prisma, actor: SYSTEM_CLI }, { name: "nginx", trusted: true })).secret;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-sink-"));
  dirs.push(dir);
  const file = path.join(dir, "pipeline", "audit.ndjson");
  stack = await startDecisionStack({
    prisma: t.prisma,
    databaseUrl: t.url,
    publicUrl: "http://gatehouse.test",
    authSecret: "test-only-auth-secret-0123456789abcdef",
    bootstrapAdmins: [],
    spoolDir: path.join(dir, "spool"),
    auditSink: { kind: "file", path: file },
    storeDataAccess: store,
  });
  server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ids: string[] = [];
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${base}${p}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json() as Promise<{ decisionId: string; results?: { decisionId: string }[] }>;
  };
  for (const who of ["alice", "bob", "alice"]) ids.push((await post("/api/v1/decisions", { principal: `user:${who}@acme.test`, resource: APP, request: { path: `/x,"y"\n`, ip: "203.0.113.9" } })).decisionId);
  ids.push((await post("/api/v1/decisions", { request: { host: "web.acme.test", path: "/anon" } })).decisionId);
  const batch = await post("/api/v1/decisions:batch", { checks: Array.from({ length: 30 }, (_, i) => ({ principal: `user:${i % 2 ? "alice" : "bob"}@acme.test`, resource: APP })) });
  ids.push(...batch.results!.map((r) => r.decisionId));
  return { file, ids };
}

function lines(file: string): string[] {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
}

describe("the NDJSON file sink", () => {
  it("ships every decision as one Cloud Audit Log entry per line; with storage off, PostgreSQL holds none", async () => {
    const { file, ids } = await start(false);
    await stack!.stop();
    stack = undefined;
    const entries = lines(file).map((l) => ZCloudAuditLogEntry.parse(JSON.parse(l)));
    expect(entries.map((e) => e.insertId).sort()).toEqual([...ids].sort());
    expect(entries.filter((e) => e.protoPayload.authorizationInfo[0]!.granted).map((e) => e.protoPayload.authenticationInfo.principalEmail)).toEqual(
      expect.arrayContaining(["alice@acme.test"]),
    );
    expect(entries.some((e) => e.protoPayload.requestMetadata.requestAttributes.path === `/x,"y"\n`)).toBe(true);
    expect(await t!.prisma.dataAccessLog.count()).toBe(0);
  });

  it("with storage on, ships exactly the entries the Audit API exports", async () => {
    const { file, ids } = await start(true);
    await stack!.ctx.log.flush();
    const shipped = lines(file);
    expect(shipped).toHaveLength(ids.length);
    const exported: string[] = [];
    const { entries } = await exportAuditLogs({ db: t!.prisma, actor: SYSTEM_CLI }, ZAuditExportQuery.parse({ stream: "data_access" }));
    for await (const l of ndjsonLines(entries)) exported.push(l.trimEnd());
    expect([...exported].sort()).toEqual([...shipped].sort());
  });
});
