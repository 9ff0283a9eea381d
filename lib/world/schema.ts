// The world file (DESIGN.md §6): the whole IAM world as YAML or JSON. Every section is optional;
// a section that is present is authoritative (apply makes the database match it, deleting what
// it does not list), a section that is absent is left alone. Unknown keys are refused.
import { z } from "zod";
import { parseResourceName, RESOURCE_KINDS } from "./names";
import { memberProblem, normaliseEmail, normaliseMember, emailProblem } from "./members";

const email = z.string().superRefine((s, ctx) => {
  const p = emailProblem(s);
  if (p) ctx.addIssue({ code: "custom", message: p });
}).transform(normaliseEmail);

/** A member string; `only` restricts the kinds accepted (group members are principals or groups). */
function memberOf(only?: { re: RegExp; message: string }) {
  return z
    .string()
    .transform(normaliseMember)
    .superRefine((s, ctx) => {
      const p = memberProblem(s) ?? (only && !only.re.test(s) ? only.message : null);
      if (p) ctx.addIssue({ code: "custom", message: p });
    });
}
const member = memberOf();

function resourceName(kinds?: ReadonlySet<string>, what = "resource name") {
  return z.string().superRefine((s, ctx) => {
    const parsed = parseResourceName(s);
    if (!parsed) ctx.addIssue({ code: "custom", message: `not a valid ${what}: "${s}"` });
    else if (kinds && !kinds.has(parsed.kind)) ctx.addIssue({ code: "custom", message: `"${s}" is not a ${what}` });
  });
}

const digits = z.string().regex(/^\d{1,20}$/, "must be a string of digits");
const condition = z.strictObject({
  title: z.string().min(1).max(100),
  description: z.string().max(256).optional(),
  expression: z.string().min(1).max(12_000),
});

export const ZOrganization = z.strictObject({
  id: digits,
  displayName: z.string().max(100).optional(),
  domain: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS domain")
    .optional(),
});

export const ZFolder = z.strictObject({
  id: digits,
  parent: resourceName(new Set(["ORGANIZATION", "FOLDER"]), "organization or folder"),
  displayName: z.string().max(100).optional(),
});

export const ZProject = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,28}[a-z0-9]$/, "project ids are 3–30 lower-case letters, digits or hyphens"),
  number: digits.optional(),
  parent: resourceName(new Set(["ORGANIZATION", "FOLDER"]), "organization or folder"),
  displayName: z.string().max(100).optional(),
});

const host = z
  .string()
  .transform((h) => h.toLowerCase().replace(/\.$/, ""))
  .pipe(z.string().regex(/^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$/, "must be a hostname"));

export const ZResource = z.strictObject({
  name: resourceName(RESOURCE_KINDS, "declarable resource (web service, serverless service, function or tunnel target)"),
  displayName: z.string().max(100).optional(),
  iap: z.boolean().optional(),
  hosts: z.array(host).max(100).optional(),
  pathPrefix: z.string().regex(/^\/[^?#\s]*$/, "must start with / and contain no query").optional(),
});

export const ZUser = z.strictObject({ email, displayName: z.string().max(100).optional() });

export const ZServiceAccount = z.strictObject({
  email: email.refine((e) => /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{1,28}[a-z0-9]\.iam\.gserviceaccount\.com$/.test(e), {
    message: "service account emails look like NAME@PROJECT.iam.gserviceaccount.com",
  }),
  displayName: z.string().max(100).optional(),
  description: z.string().max(256).optional(),
  disabled: z.boolean().optional(),
});

export const ZGroup = z.strictObject({
  email,
  displayName: z.string().max(100).optional(),
  description: z.string().max(256).optional(),
  members: z
    .array(memberOf({ re: /^(user|serviceAccount|group):/, message: "group members are user:, serviceAccount: or group: members" }))
    .optional(),
});

export const ZCustomRole = z.strictObject({
  name: z.string().regex(/^(organizations\/\d{1,20}|projects\/[a-z][a-z0-9-]{1,28}[a-z0-9])\/roles\/[a-zA-Z0-9_.]{3,64}$/, "custom roles are organizations/{id}/roles/{role} or projects/{id}/roles/{role}"),
  title: z.string().max(100).optional(),
  description: z.string().max(256).optional(),
  stage: z.enum(["ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"]).optional(),
  permissions: z.array(z.string().regex(/^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+){2}$/, "permissions look like service.resource.verb")).min(1),
});

const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, "must be a CIDR range like 10.0.0.0/8");
export const ZAccessLevel = z
  .strictObject({
    name: z.string().regex(/^accessPolicies\/[a-zA-Z0-9_-]+\/accessLevels\/[a-zA-Z0-9_]{1,50}$/, "access levels are accessPolicies/{policy}/accessLevels/{name}"),
    title: z.string().max(100).optional(),
    description: z.string().max(256).optional(),
    basic: z
      .strictObject({
        combiningFunction: z.enum(["AND", "OR"]).optional(),
        conditions: z
          .array(
            z.strictObject({
              ipSubnetworks: z.array(cidr).optional(),
              regions: z.array(z.string().regex(/^[A-Z]{2}$/, "regions are ISO 3166-1 alpha-2 codes")).optional(),
              members: z.array(member).optional(),
              requiredAccessLevels: z.array(z.string()).optional(),
              negate: z.boolean().optional(),
            }),
          )
          .min(1),
      })
      .optional(),
    custom: z.strictObject({ expression: z.string().min(1) }).optional(),
  })
  .refine((l) => Boolean(l.basic) !== Boolean(l.custom), { message: "an access level has exactly one of basic or custom" });

export const ZTrustedIssuer = z.strictObject({
  issuer: z.url(),
  audiences: z.array(z.string().min(1)).min(1),
  jwksUri: z.url().optional(),
});

export const ZBinding = z.strictObject({
  role: z.string().regex(/^(roles\/[a-zA-Z0-9_.]+|(organizations\/\d+|projects\/[a-z][a-z0-9-]+)\/roles\/[a-zA-Z0-9_.]+)$/, "not a role name"),
  members: z.array(member).min(1),
  condition: condition.optional(),
});

export const ZPolicy = z.strictObject({
  resource: resourceName(undefined, "resource name"),
  bindings: z.array(ZBinding),
});

export const ZDenyRule = z.strictObject({
  description: z.string().max(256).optional(),
  deniedPrincipals: z.array(member).min(1),
  exceptionPrincipals: z.array(member).optional(),
  deniedPermissions: z.array(z.string().min(3)).min(1),
  exceptionPermissions: z.array(z.string().min(3)).optional(),
  denialCondition: z.strictObject({ title: z.string().max(100).optional(), expression: z.string().min(1) }).optional(),
});

export const ZDenyPolicy = z.strictObject({
  attachedTo: resourceName(new Set(["ORGANIZATION", "FOLDER", "PROJECT"]), "organization, folder or project"),
  policyId: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/).optional(),
  displayName: z.string().max(100).optional(),
  rules: z.array(ZDenyRule).min(1),
});

export const ZWorld = z.strictObject({
  organizations: z.array(ZOrganization).optional(),
  folders: z.array(ZFolder).optional(),
  projects: z.array(ZProject).optional(),
  resources: z.array(ZResource).optional(),
  users: z.array(ZUser).optional(),
  serviceAccounts: z.array(ZServiceAccount).optional(),
  groups: z.array(ZGroup).optional(),
  customRoles: z.array(ZCustomRole).optional(),
  accessLevels: z.array(ZAccessLevel).optional(),
  trustedIssuers: z.array(ZTrustedIssuer).optional(),
  policies: z.array(ZPolicy).optional(),
  denyPolicies: z.array(ZDenyPolicy).optional(),
});

export type World = z.infer<typeof ZWorld>;
export type WorldPolicy = z.infer<typeof ZPolicy>;
export type WorldBinding = z.infer<typeof ZBinding>;
export const WORLD_SECTIONS = Object.keys(ZWorld.shape) as (keyof World)[];
