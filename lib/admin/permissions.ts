// The permission an admin method needs comes from the method AND the resource's type together
// (IAM: SetIamPolicy needs resourcemanager.projects.setIamPolicy on a project, but
// iap.webServices.setIamPolicy on a backend service). One table, used by every transport.
import { resourceTypeOf, RESOURCE_TYPES } from "@/lib/policy";

/** Permission prefix per resource type: `${prefix}.getIamPolicy` / `${prefix}.setIamPolicy`. */
const POLICY_PREFIX: Record<string, string> = {
  [RESOURCE_TYPES.organization]: "resourcemanager.organizations",
  [RESOURCE_TYPES.folder]: "resourcemanager.folders",
  [RESOURCE_TYPES.project]: "resourcemanager.projects",
  [RESOURCE_TYPES.iapWeb]: "iap.web",
  [RESOURCE_TYPES.iapWebType]: "iap.webTypes",
  [RESOURCE_TYPES.iapWebService]: "iap.webServices",
  [RESOURCE_TYPES.iapWebServiceVersion]: "iap.webServiceVersions",
  [RESOURCE_TYPES.iapTunnel]: "iap.tunnel",
  [RESOURCE_TYPES.iapTunnelZone]: "iap.tunnelZones",
  [RESOURCE_TYPES.iapTunnelInstance]: "iap.tunnelInstances",
  [RESOURCE_TYPES.runService]: "run.services",
  [RESOURCE_TYPES.cloudFunction]: "cloudfunctions.functions",
};

export type PolicyVerb = "getIamPolicy" | "setIamPolicy";

/** The permission `verb` needs on `resource`, or null when the name is not a policy-bearing resource. */
export function policyPermission(resource: string, verb: PolicyVerb): string | null {
  const type = resourceTypeOf(resource);
  const prefix = type ? POLICY_PREFIX[type] : undefined;
  return prefix ? `${prefix}.${verb}` : null;
}

/** The API service of a resource's policy methods (the audit record's serviceName). */
export function policyService(resource: string): string {
  const type = resourceTypeOf(resource);
  if (type === RESOURCE_TYPES.organization || type === RESOURCE_TYPES.folder || type === RESOURCE_TYPES.project) return "cloudresourcemanager.googleapis.com";
  if (type === RESOURCE_TYPES.runService) return "run.googleapis.com";
  if (type === RESOURCE_TYPES.cloudFunction) return "cloudfunctions.googleapis.com";
  return "iap.googleapis.com";
}
