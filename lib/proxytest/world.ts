// The world the proxy tests run against (a world file, DESIGN.md §6), applied with the same
// code as `npm run gatehouse -- apply -f`.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { parseWorld } from "@/lib/world/parse";
import { applyWorld } from "@/lib/world/apply";
import { worldCatalog } from "@/lib/world/catalog";

export const PROJECT_NUMBER = "100200300";
/** The application behind the proxy (host app.example.com, the shipped configs' host). */
export const APP_RESOURCE = "projects/demo/iap_web/compute/services/app";
export const APP_AUDIENCE = `/projects/${PROJECT_NUMBER}/global/backendServices/app`;
/** Another application, which carol may reach (but not app). */
export const WIKI_RESOURCE = "projects/demo/iap_web/compute/services/wiki";
export const WIKI_HOST = "wiki.example.com";
export const CHARGE_SERVICE = "projects/payments/locations/europe-west1/services/charge";
export const REFUND_FUNCTION = "projects/payments/locations/europe-west1/functions/refund";
/** Their audiences (a serverless target's: /projects/{number}/{rest of its name}). */
export const CHARGE_AUDIENCE = "/projects/100200301/locations/europe-west1/services/charge";
export const REFUND_AUDIENCE = "/projects/100200301/locations/europe-west1/functions/refund";
export const GATEWAY_SA = "gateway@payments.iam.gserviceaccount.com";
export const BATCH_SA = "batch-job@payments.iam.gserviceaccount.com";

export const ALICE = "alice@example.com"; // in eng: reaches app except /admin
export const BOB = "bob@example.com"; // joins and leaves eng during the tests
export const CAROL = "carol@example.com"; // no binding on app (wiki only)
export const MALLORY = "mallory@example.com"; // in eng, but a deny policy names her
export const DAVE = "dave@example.com"; // reaches app from Germany only (region access level)
export const ERIN = "erin@example.com"; // reaches app from 10.0.0.0/8 only (IP access level)
export const FRANK = "frank@example.com"; // holds the role on app, but is disabled
export const GRACE = "grace@example.com"; // reaches app with GET only (request.method condition)
export const AUDITOR = "auditor@example.com"; // Private Logs Viewer on the organization, nothing on app
export const ZOE = "zoe@example.com"; // no Principal row: reaches wiki through domain:example.com
export const TEST_USERS = [ALICE, BOB, CAROL, MALLORY, DAVE, ERIN, FRANK, GRACE, AUDITOR];
export const GERMANY_LEVEL = "accessPolicies/1/accessLevels/germany";
export const CORP_LEVEL = "accessPolicies/1/accessLevels/corp";

export function testWorld(options: { issuer: string; audience: string; engMembers?: string[] }) {
  return {
    organizations: [{ id: "1234", displayName: "Example", domain: "example.com" }],
    projects: [
      { id: "demo", number: PROJECT_NUMBER, parent: "organizations/1234", displayName: "Demo" },
      { id: "payments", number: "100200301", parent: "organizations/1234", displayName: "Payments" },
    ],
    resources: [
      { name: APP_RESOURCE, displayName: "App", iap: true, hosts: ["app.example.com"] },
      { name: WIKI_RESOURCE, displayName: "Wiki", iap: true, hosts: [WIKI_HOST] },
      { name: CHARGE_SERVICE, displayName: "Charge API" },
      { name: REFUND_FUNCTION, displayName: "Refund function" },
    ],
    users: TEST_USERS.map((email) => ({ email, ...(email === FRANK ? { disabled: true } : {}) })),
    accessLevels: [
      { name: GERMANY_LEVEL, title: "Germany", basic: { conditions: [{ regions: ["DE"] }] } },
      { name: CORP_LEVEL, title: "Corp network", basic: { conditions: [{ ipSubnetworks: ["10.0.0.0/8"] }] } },
    ],
    serviceAccounts: [{ email: GATEWAY_SA, displayName: "API gateway" }, { email: BATCH_SA }],
    groups: [{ email: "eng@example.com", members: options.engMembers ?? [`user:${ALICE}`, `user:${MALLORY}`] }],
    // The issuer may assert the domain of the test users (and only it).
    trustedIssuers: [{ issuer: options.issuer, audiences: [options.audience], domains: ["example.com"] }],
    policies: [
      {
        resource: "projects/demo",
        bindings: [
          {
            role: "roles/iap.httpsResourceAccessor",
            members: ["group:eng@example.com"],
            condition: { title: "Not admin", expression: "!request.path.startsWith('/admin')" },
          },
        ],
      },
      { resource: "organizations/1234", bindings: [{ role: "roles/logging.privateLogViewer", members: [`user:${AUDITOR}`] }] },
      {
        resource: APP_RESOURCE,
        bindings: [
          { role: "roles/iap.httpsResourceAccessor", members: [`user:${DAVE}`], condition: { title: "In Germany", expression: `'${GERMANY_LEVEL}' in request.auth.access_levels` } },
          { role: "roles/iap.httpsResourceAccessor", members: [`user:${ERIN}`], condition: { title: "Corp network", expression: `'${CORP_LEVEL}' in request.auth.access_levels` } },
          { role: "roles/iap.httpsResourceAccessor", members: [`user:${FRANK}`] },
          { role: "roles/iap.httpsResourceAccessor", members: [`user:${GRACE}`], condition: { title: "Read only", expression: "request.method == 'GET'" } },
        ],
      },
      { resource: WIKI_RESOURCE, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: [`user:${CAROL}`, "domain:example.com"] }] },
      { resource: CHARGE_SERVICE, bindings: [{ role: "roles/run.invoker", members: [`serviceAccount:${GATEWAY_SA}`] }] },
    ],
    denyPolicies: [
      {
        attachedTo: "projects/demo",
        rules: [{ deniedPrincipals: [`user:${MALLORY}`], deniedPermissions: ["iap.webServiceVersions.accessViaIAP"] }],
      },
    ],
  };
}

/** Applies a world (validated exactly as a world file is); returns the revision it committed at. */
export async function applyTestWorld(prisma: PrismaClient, world: object): Promise<bigint | null> {
  const parsed = parseWorld(JSON.stringify(world), "proxytest-world.json");
  const result = await applyWorld(prisma, parsed, { actor: "system:proxytest", catalog: worldCatalog() });
  return result.revision;
}
