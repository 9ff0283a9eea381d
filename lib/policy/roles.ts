/**
 * Predefined role catalogue with IAM's role names and (a realistic subset of) their permissions.
 * Basic roles (owner/editor/viewer) deliberately do NOT contain iap.webServiceVersions.accessViaIAP,
 * as in IAM: even an Owner needs "IAP-secured Web App User" to pass IAP.
 */
import type { Role } from "./types";

const IAP_POLICY_KINDS = ["web", "webTypes", "webServices", "webServiceVersions", "tunnel", "tunnelZones", "tunnelInstances", "tunnelDestGroups"];
const iapGetPolicy = IAP_POLICY_KINDS.map((k) => `iap.${k}.getIamPolicy`);
const iapSetPolicy = IAP_POLICY_KINDS.map((k) => `iap.${k}.setIamPolicy`);
const iapSettingsKinds = ["projects", "web", "webTypes", "webServices", "webServiceVersions", "tunnel", "tunnelZones", "tunnelInstances"];
const iapGetSettings = iapSettingsKinds.map((k) => `iap.${k}.getSettings`);
const iapUpdateSettings = iapSettingsKinds.map((k) => `iap.${k}.updateSettings`);

const containerGet = [
  "resourcemanager.organizations.get",
  "resourcemanager.folders.get",
  "resourcemanager.folders.list",
  "resourcemanager.projects.get",
  "resourcemanager.projects.list",
];
const containerGetPolicy = ["resourcemanager.organizations.getIamPolicy", "resourcemanager.folders.getIamPolicy", "resourcemanager.projects.getIamPolicy"];
const containerSetPolicy = ["resourcemanager.organizations.setIamPolicy", "resourcemanager.folders.setIamPolicy", "resourcemanager.projects.setIamPolicy"];
const loggingRead = [
  "logging.logEntries.list",
  "logging.logs.list",
  "logging.logServices.list",
  "logging.logServiceIndexes.list",
  "logging.buckets.get",
  "logging.buckets.list",
  "logging.views.get",
  "logging.views.list",
  "logging.sinks.get",
  "logging.sinks.list",
];
const serviceGetPolicy = ["run.services.getIamPolicy", "cloudfunctions.functions.getIamPolicy"];
const serviceSetPolicy = ["run.services.setIamPolicy", "cloudfunctions.functions.setIamPolicy"];
const serviceRead = [
  ...serviceGetPolicy,
  "run.services.get",
  "run.services.list",
  "run.routes.get",
  "run.routes.list",
  "cloudfunctions.functions.get",
  "cloudfunctions.functions.list",
  "compute.backendServices.get",
  "compute.backendServices.list",
  "compute.instances.get",
  "compute.instances.list",
  "appengine.services.get",
  "appengine.services.list",
  "appengine.versions.get",
  "appengine.versions.list",
  "iam.roles.get",
  "iam.roles.list",
  "iam.serviceAccounts.get",
  "iam.serviceAccounts.list",
  "iam.denypolicies.get",
  "iam.denypolicies.list",
  "accesscontextmanager.accessLevels.get",
  "accesscontextmanager.accessLevels.list",
];
const serviceWrite = [
  "run.services.create",
  "run.services.update",
  "run.services.delete",
  "cloudfunctions.functions.create",
  "cloudfunctions.functions.update",
  "cloudfunctions.functions.delete",
  "compute.backendServices.create",
  "compute.backendServices.update",
  "compute.backendServices.delete",
  "compute.instances.create",
  "compute.instances.update",
  "compute.instances.delete",
  // App Engine services come into being by deploying a version (appengine.versions.create).
  "appengine.services.update",
  "appengine.services.delete",
  "appengine.versions.create",
  "appengine.versions.update",
  "appengine.versions.delete",
  "iam.serviceAccounts.create",
  "iam.serviceAccounts.update",
  "iam.serviceAccounts.delete",
  "iam.roles.create",
  "iam.roles.update",
  "iam.roles.delete",
  "resourcemanager.projects.update",
];

// Identity and instance administration. Groups, users, trusted issuers, proxy credentials and
// signing keys live outside Google's resource hierarchy; Gatehouse authorises them on the
// organizations (lib/admin/authz.ts): groups and users on the organization of their domain,
// instance-wide things on every organization. `gatehouse.*` names are Gatehouse's own.
const identityRead = [
  "cloudidentity.groups.get",
  "cloudidentity.groups.list",
  "gatehouse.users.get",
  "gatehouse.users.list",
  "iam.serviceAccountKeys.get",
  "iam.serviceAccountKeys.list",
  "gatehouse.trustedIssuers.list",
  "gatehouse.proxyKeys.list",
  "gatehouse.signingKeys.list",
];
const identityWrite = [
  "cloudidentity.groups.create",
  "cloudidentity.groups.update",
  "cloudidentity.groups.delete",
  "gatehouse.users.create",
  "gatehouse.users.update",
  "gatehouse.users.delete",
  "iam.serviceAccountKeys.create",
  "iam.serviceAccountKeys.delete",
  "iam.serviceAccountKeys.disable",
  "iam.serviceAccountKeys.enable",
  "gatehouse.trustedIssuers.create",
  "gatehouse.trustedIssuers.update",
  "gatehouse.trustedIssuers.delete",
  "gatehouse.proxyKeys.create",
  "gatehouse.proxyKeys.delete",
  "gatehouse.signingKeys.rotate",
  "accesscontextmanager.accessLevels.create",
  "accesscontextmanager.accessLevels.update",
  "accesscontextmanager.accessLevels.delete",
];
const hierarchyWrite = [
  "resourcemanager.organizations.create",
  "resourcemanager.organizations.update",
  "resourcemanager.organizations.delete",
  "resourcemanager.folders.create",
  "resourcemanager.folders.update",
  "resourcemanager.folders.delete",
  "resourcemanager.folders.move",
  "resourcemanager.projects.create",
  "resourcemanager.projects.move",
];

const viewer = [...containerGet, ...containerGetPolicy, ...iapGetPolicy, ...iapGetSettings, ...loggingRead, ...serviceRead, ...identityRead];
const editor = [...viewer, ...serviceWrite, ...iapUpdateSettings];
const owner = [
  ...editor,
  ...containerSetPolicy,
  ...iapSetPolicy,
  ...serviceSetPolicy,
  ...identityWrite,
  ...hierarchyWrite,
  "logging.privateLogEntries.list",
  "iam.denypolicies.create",
  "iam.denypolicies.update",
  "iam.denypolicies.delete",
  "resourcemanager.projects.delete",
];

export const PREDEFINED_ROLES: readonly Role[] = [
  { name: "roles/iap.httpsResourceAccessor", title: "IAP-secured Web App User", permissions: ["iap.webServiceVersions.accessViaIAP"] },
  { name: "roles/iap.tunnelResourceAccessor", title: "IAP-secured Tunnel User", permissions: ["iap.tunnelInstances.accessViaIAP", "iap.tunnelDestGroups.accessViaIAP"] },
  { name: "roles/run.invoker", title: "Cloud Run Invoker", permissions: ["run.routes.invoke"] },
  { name: "roles/cloudfunctions.invoker", title: "Cloud Functions Invoker", permissions: ["cloudfunctions.functions.invoke"] },
  {
    name: "roles/iap.admin",
    title: "IAP Policy Admin",
    permissions: [...iapGetPolicy, ...iapSetPolicy, ...iapGetSettings, ...iapUpdateSettings, "resourcemanager.projects.get", "resourcemanager.projects.list"],
  },
  { name: "roles/iap.settingsAdmin", title: "IAP Settings Admin", permissions: [...iapGetSettings, ...iapUpdateSettings, "resourcemanager.projects.get"] },
  { name: "roles/owner", title: "Owner", permissions: owner },
  { name: "roles/editor", title: "Editor", permissions: editor },
  { name: "roles/viewer", title: "Viewer", permissions: viewer },
  {
    name: "roles/resourcemanager.projectIamAdmin",
    title: "Project IAM Admin",
    permissions: ["resourcemanager.projects.get", "resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
  },
  {
    name: "roles/resourcemanager.organizationAdmin",
    title: "Organization Administrator",
    permissions: [...containerGet, ...containerGetPolicy, ...containerSetPolicy],
  },
  { name: "roles/logging.viewer", title: "Logs Viewer", permissions: [...loggingRead, "resourcemanager.projects.get"] },
  { name: "roles/logging.privateLogViewer", title: "Private Logs Viewer", permissions: [...loggingRead, "logging.privateLogEntries.list", "resourcemanager.projects.get"] },
  { name: "roles/iam.denyAdmin", title: "Deny Admin", permissions: ["iam.denypolicies.get", "iam.denypolicies.list", "iam.denypolicies.create", "iam.denypolicies.update", "iam.denypolicies.delete"] },
];

export const PREDEFINED_ROLE_MAP: ReadonlyMap<string, Role> = new Map(PREDEFINED_ROLES.map((r) => [r.name, r]));

/** Every permission that appears in the predefined catalogue (custom roles may only use these). */
export const KNOWN_PERMISSIONS: ReadonlySet<string> = new Set(PREDEFINED_ROLES.flatMap((r) => r.permissions));

const CUSTOM_ROLE_RE = /^(organizations|projects)\/[^/]+\/roles\/[A-Za-z0-9_.]{3,64}$/;
/** Whether a role name is a syntactically valid custom-role name (`organizations/{o}/roles/{id}` or `projects/{p}/roles/{id}`). */
export function isCustomRoleName(name: string): boolean {
  return CUSTOM_ROLE_RE.test(name);
}
