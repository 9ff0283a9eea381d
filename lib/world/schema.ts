// The world file (DESIGN.md §6): the whole IAM world as YAML or JSON. Every section is optional;
// a section that is present is authoritative (apply makes the database match it, deleting what
// it does not list), a section that is absent is left alone. Unknown keys are refused.
import { z } from "zod";
import { parseResourceName, RESOURCE_KINDS } from "./names";
import { checkDomain, checkEmail, parseDenyPrincipal, parseMember } from "@/lib/policy/members";
import { isSecureIssuerUrl } from "@/lib/identity/verify";
import { validateHostPattern, validateHostRoutes, validatePathPrefix, type ValidationIssue } from "@/lib/policy/validate";

/** Reports the core's write-time validation issues (their messages) on the value itself. */
function issues(check: (s: string) => ValidationIssue[]) {
  return (s: string, ctx: z.RefinementCtx) => {
    for (const i of check(s)) ctx.addIssue({ code: "custom", message: i.message });
  };
}

/** A value parsed by one of the core's parsers: its canonical form, or its error message as the issue. */
function parsed<T>(parse: (s: string) => { ok: true; value: T } | { ok: false; error: string }, canonical: (v: T) => string) {
  return z.string().transform((s, ctx) => {
    const r = parse(s);
    if (r.ok) return canonical(r.value);
    ctx.addIssue({ code: "custom", message: r.error });
    return z.NEVER;
  });
}

const email = parsed(checkEmail, (e) => e);
/** IAM v1 member strings (canonical: emails lower-cased). */
const member = parsed(parseMember, (m) => m.key);
/** Group members: principals, nested groups, or deleted principals. */
const groupMember = parsed(
  (s) => {
    const r = parseMember(s);
    return r.ok && !["user", "serviceAccount", "group", "deleted"].includes(r.value.kind)
      ? { ok: false as const, error: `"${s}": group members are user:, serviceAccount:, group: or deleted: members` }
      : r;
  },
  (m) => m.key,
);
/** Deny rules take v1 member strings and IAM v2 principal identifiers (kept as written). */
const denyPrincipal = parsed(
  (s) => {
    const r = parseDenyPrincipal(s);
    return r.ok ? { ok: true as const, value: s } : r;
  },
  (s) => s,
);

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
  id: z.string().regex(/^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$/, "project ids are 1–30 lower-case letters, digits or hyphens, starting with a letter"),
  number: digits.optional(),
  parent: resourceName(new Set(["ORGANIZATION", "FOLDER"]), "organization or folder"),
  displayName: z.string().max(100).optional(),
});

/** Stored lower-case without trailing dot; `*.` wildcards as in TLS certificates (lib/policy resolveHost). */
const host = z
  .string()
  .transform((h) => h.toLowerCase().replace(/\.$/, ""))
  .pipe(z.string().superRefine(issues((h) => validateHostPattern(h))));

export const ZResource = z.strictObject({
  name: resourceName(RESOURCE_KINDS, "declarable resource (web service, serverless service, function or tunnel target)"),
  displayName: z.string().max(100).optional(),
  iap: z.boolean().optional(),
  hosts: z.array(host).max(100).optional(),
  /** Written in normal form (validatePathPrefix: refused, not rewritten, with the normal form in the message). */
  pathPrefix: z
    .string()
    .regex(/^[^\s]*$/, "must not contain whitespace")
    .superRefine(issues((p) => validatePathPrefix(p)))
    .optional(),
});

export const ZUser = z.strictObject({
  email,
  displayName: z.string().max(100).optional(),
  /** A disabled user is denied everywhere (PRINCIPAL_DISABLED); bindings naming it stay. */
  disabled: z.boolean().optional(),
});

export const ZServiceAccount = z.strictObject({
  email: email.refine((e) => /^[a-z]([a-z0-9-]{0,28}[a-z0-9])?@[a-z]([a-z0-9-]{0,28}[a-z0-9])?\.iam\.gserviceaccount\.com$/.test(e), {
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
    .array(groupMember)
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
    /** GCP CustomLevel: { expr: { expression } }. */
    custom: z.strictObject({ expr: z.strictObject({ expression: z.string().min(1).max(12_000) }) }).optional(),
  })
  .refine((l) => Boolean(l.basic) !== Boolean(l.custom), { message: "an access level has exactly one of basic or custom" });

/**
 * An https URL (http only on loopback: localhost, 127.0.0.0/8, [::1]); no credentials in it. An
 * issuer identifier also has no query or fragment (OpenID Connect Discovery §3).
 */
function httpsUrl(issuer: boolean) {
  return z.string().superRefine((s, ctx) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      ctx.addIssue({ code: "custom", message: `"${s}" must be an https URL` });
      return;
    }
    if (!isSecureIssuerUrl(s)) {
      ctx.addIssue({ code: "custom", message: `"${s}" must be an https URL (http only on loopback: localhost, 127.0.0.0/8, [::1])` });
    }
    if (u.username || u.password) ctx.addIssue({ code: "custom", message: `"${s}" must not carry credentials` });
    if (issuer && (u.search || u.hash || s.includes("?") || s.includes("#"))) ctx.addIssue({ code: "custom", message: `"${s}": an issuer identifier has no query or fragment` });
  });
}

/** Exact DNS domain (lower-cased; no wildcard, ASCII only). */
const domain = parsed(checkDomain, (d) => d);

/**
 * A trusted issuer may assert only the email domains listed for it, and only verified emails
 * (email_verified: true) unless allowUnverifiedEmails (enforced by lib/identity/verify.ts).
 */
export const ZTrustedIssuer = z.strictObject({
  issuer: httpsUrl(true),
  audiences: z.array(z.string().min(1)).min(1),
  jwksUri: httpsUrl(false).optional(),
  domains: z.array(domain).min(1, "an issuer must list at least one email domain it may assert"),
  allowUnverifiedEmails: z.boolean().optional(),
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
  deniedPrincipals: z.array(denyPrincipal).min(1),
  exceptionPrincipals: z.array(denyPrincipal).optional(),
  deniedPermissions: z.array(z.string().min(3)).min(1),
  exceptionPermissions: z.array(z.string().min(3)).optional(),
  denialCondition: z.strictObject({ title: z.string().max(100).optional(), expression: z.string().min(1) }).optional(),
});

export const ZDenyPolicy = z.strictObject({
  attachedTo: resourceName(new Set(["ORGANIZATION", "FOLDER", "PROJECT"]), "organization, folder or project"),
  /** The deny policy's id (several may attach to one node); default "default". */
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "deny policy ids are lower-case letters, digits and hyphens").optional(),
  displayName: z.string().max(100).optional(),
  rules: z.array(ZDenyRule).min(1),
});

export const ZWorld = z
  .strictObject({
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
  })
  .superRefine((w, ctx) => {
    // One (host, path prefix) pair selects one resource; reported at the later claim, naming both.
    for (const i of validateHostRoutes(w.resources ?? [], (n) => `resources[${n}]`)) ctx.addIssue({ code: "custom", message: i.message, path: pathOf(i.path) });
  });

/** "resources[3].hosts[1]" → ["resources", 3, "hosts", 1]. */
function pathOf(p: string): (string | number)[] {
  return [...p.matchAll(/\[(\d+)\]|\.?([^.[\]]+)/g)].map((m) => (m[1] !== undefined ? Number(m[1]) : (m[2] as string)));
}

export type World = z.infer<typeof ZWorld>;
export type WorldPolicy = z.infer<typeof ZPolicy>;
export type WorldBinding = z.infer<typeof ZBinding>;
export const WORLD_SECTIONS = Object.keys(ZWorld.shape) as (keyof World)[];
