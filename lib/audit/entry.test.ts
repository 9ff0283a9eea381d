// The stored-record → Cloud Audit Log entry mapping: Google's monitored-resource types and log
// names per resource, the status a denial carries per reason, Gatehouse's own actors, CSV rows.
import { describe, expect, it } from "vitest";
import { adminActivityEntry, csvRow, dataAccessEntry, dataAccessEntryJson, logParent, monitoredResource, type DataAccessRow } from "./entry";

const decision: DataAccessRow = {
  decisionId: "d-1",
  timestamp: new Date("2026-12-01T09:00:00.123Z"),
  principal: "serviceAccount:ci@demo.iam.gserviceaccount.com",
  resourceName: "projects/demo/iap_tunnel/zones/europe-west1-b/instances/vm-1",
  permission: "iap.tunnelInstances.accessViaIAP",
  granted: false,
  reason: "UNAUTHENTICATED",
  callerIp: null,
  host: null,
  path: null,
  method: null,
  accessLevels: [],
  unsatisfiedLevels: ["accessPolicies/1/accessLevels/corp"],
  decidedBy: null,
  revision: 9n,
  latencyUs: 12,
  proxyCredentialId: null,
  status: null,
  whatIfTime: new Date("2026-11-01T00:00:00Z"),
  regionCode: null, destination: null,
};

describe("Cloud Audit Log entries", () => {
  it("name Google's monitored resources and log parents", () => {
    expect(monitoredResource("projects/p/iap_web/compute/services/web")).toEqual({ type: "gce_backend_service", labels: { project_id: "p", backend_service_id: "web", location: "global" } });
    expect(monitoredResource("projects/p/iap_web/appengine-app/services/default/versions/v2").labels).toMatchObject({ module_id: "default", version_id: "v2" });
    expect(monitoredResource("projects/p/locations/europe-west1/services/api").type).toBe("cloud_run_revision");
    expect(monitoredResource("projects/p/locations/us-central1/functions/f")).toMatchObject({ type: "cloud_function", labels: { region: "us-central1", function_name: "f" } });
    expect(monitoredResource("folders/55").type).toBe("folder");
    expect(monitoredResource("groups/eng@example.com").type).toBe("audited_resource");
    expect([logParent("projects/p/iap_web"), logParent("organizations/1/roles/x"), logParent("groups/eng@example.com")]).toEqual(["projects/p", "organizations/1", "organizations/-"]);
  });

  it("a denial carries the google.rpc status of its reason; what-if time and unmet levels are kept", () => {
    const e = dataAccessEntry(decision);
    expect(e.protoPayload.status).toEqual({ code: 16, message: "UNAUTHENTICATED" });
    expect(e.severity).toBe("NOTICE");
    expect(e.resource.type).toBe("gce_instance");
    expect(e.protoPayload.authenticationInfo).toEqual({ principalEmail: "ci@demo.iam.gserviceaccount.com", principalSubject: "serviceAccount:ci@demo.iam.gserviceaccount.com" });
    expect(e.protoPayload.requestMetadata.requestAttributes.time).toBe("2026-11-01T00:00:00.000Z");
    expect(e.protoPayload.metadata).toMatchObject({ unsatisfiedAccessLevels: ["accessPolicies/1/accessLevels/corp"], whatIfTime: "2026-11-01T00:00:00.000Z" });
    expect(dataAccessEntry({ ...decision, reason: "NO_MATCHING_BINDING" }).protoPayload.status.code).toBe(7);
    expect(dataAccessEntry({ ...decision, principal: null }).protoPayload.authenticationInfo).toEqual({});
    expect(dataAccessEntry({ ...decision, permission: "logging.logEntries.list" }).protoPayload).toMatchObject({ methodName: "ListLogEntries", serviceName: "logging.googleapis.com" });
  });

  it("the sink's line is the entry serialised, whichever optional fields a record has", () => {
    const granted: DataAccessRow = {
      ...decision,
      principal: "user:alice@example.com",
      resourceName: "projects/demo/iap_web/compute/services/web",
      permission: "iap.webServiceVersions.accessViaIAP",
      granted: true,
      reason: "GRANTED",
      callerIp: "203.0.113.7",
      host: "web.example.test",
      path: "/a \"quoted\" path/\u00e9\n\u2028\ud800",
      method: "GET",
      accessLevels: ["accessPolicies/1/accessLevels/corp"],
      unsatisfiedLevels: [],
      // Keys out of order: the entry sorts them (as they read back from jsonb).
      decidedBy: { role: "roles/iap.httpsResourceAccessor", resource: "projects/demo", member: "user:alice@example.com", condition: { title: "hours", expression: "true" } },
      proxyCredentialId: "pk_1",
      whatIfTime: null,
    };
    const variants: DataAccessRow[] = [
      decision,
      granted,
      { ...granted, principal: null, callerIp: null, host: null, path: null, method: null, decidedBy: null, proxyCredentialId: null, accessLevels: [] },
      { ...granted, principal: "alice", regionCode: "CH", destination: { ip: "10.0.0.5", port: 22 }, whatIfTime: new Date("2026-01-02T03:04:05.006Z") },
      { ...granted, granted: false, reason: "CONDITION_NOT_MET", status: { code: 7, message: "denied \"here\"" }, unsatisfiedLevels: ["a", "b"] },
      { ...granted, granted: false, reason: "UNKNOWN_RESOURCE", resourceName: "hosts/unknown.example.test" },
      { ...granted, permission: "logging.privateLogEntries.list", resourceName: "organizations/-", destination: { port: 443 } },
      ...["projects/p/iap_web/appengine-app/services/default/versions/v2", "projects/p/locations/europe-west1/services/api", "projects/p/locations/us-central1/functions/f", "folders/55", "organizations/1", "projects/p", "groups/eng@example.com"].map(
        (resourceName): DataAccessRow => ({ ...granted, resourceName }),
      ),
    ];
    for (const r of variants) expect(dataAccessEntryJson(r)).toBe(JSON.stringify(dataAccessEntry(r)));
    // Twice: the second comes from the per-name and per-permission caches.
    for (const r of variants) expect(dataAccessEntryJson(r)).toBe(JSON.stringify(dataAccessEntry(r)));
  });

  it("Gatehouse's own actors are named as such, not as an email; CSV rows flatten an entry", () => {
    const e = adminActivityEntry({
      insertId: "a-1",
      timestamp: new Date("2026-12-01T09:00:00Z"),
      actor: "system:cli",
      methodName: "SetIamPolicy",
      serviceName: "cloudresourcemanager.googleapis.com",
      resourceName: "projects/demo",
      bindingDeltas: [{ action: "ADD", role: "roles/viewer", member: "user:a@example.com" }],
      request: null,
      response: null,
      callerIp: null,
      userAgent: null,
      status: null,
      revision: 4n,
    });
    expect(e.protoPayload.authenticationInfo).toEqual({ principalSubject: "system:cli" });
    const row = csvRow(e);
    expect(row).toMatchObject({ methodName: "SetIamPolicy", principal: "system:cli", revision: "4", statusCode: "0", permission: "" });
    expect(JSON.parse(row.details)).toEqual({ bindingDeltas: [{ action: "ADD", role: "roles/viewer", member: "user:a@example.com" }] });
  });
});
