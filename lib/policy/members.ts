/**
 * Member strings and emails. INVARIANT: every comparison of an email in the core goes through
 * `normaliseEmail`, which lower-cases ASCII and rejects anything non-ASCII (look-alike Unicode is
 * refused, never folded: `аlice@example.com` with a Cyrillic "а" is an error, not `alice@…`).
 */

export type MemberKind = "user" | "serviceAccount" | "group";

export type Member =
  | { kind: MemberKind; email: string; key: string }
  | { kind: "domain"; domain: string; key: string }
  | { kind: "allUsers"; key: "allUsers" }
  | { kind: "allAuthenticatedUsers"; key: "allAuthenticatedUsers" }
  | { kind: "deleted"; of: MemberKind; email: string; uid: string; key: string };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const LOCAL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function describeNonAscii(s: string): string | null {
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp > 0x7e || cp < 0x21) {
      return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
    }
  }
  return null;
}

/** Validates and lower-cases a DNS domain (ASCII only; internationalised domains must use punycode). */
export function checkDomain(input: string): ParseResult<string> {
  const bad = describeNonAscii(input);
  if (bad) return { ok: false, error: `domain contains ${bad}; only ASCII is accepted (look-alike characters are rejected, use punycode for IDNs)` };
  const d = input.toLowerCase();
  if (d.length === 0 || d.length > 253) return { ok: false, error: "domain must be 1-253 characters" };
  const labels = d.split(".");
  if (labels.length < 2) return { ok: false, error: `domain "${input}" needs at least two labels` };
  for (const l of labels) if (!LABEL_RE.test(l)) return { ok: false, error: `domain "${input}" has an invalid label "${l}"` };
  return { ok: true, value: d };
}

/** Validates an email and returns its canonical (lower-case) form. */
export function checkEmail(input: string): ParseResult<string> {
  const bad = describeNonAscii(input);
  if (bad) return { ok: false, error: `email contains ${bad}; only ASCII is accepted (look-alike characters are rejected, not folded)` };
  const at = input.lastIndexOf("@");
  if (at <= 0 || at === input.length - 1) return { ok: false, error: `"${input}" is not an email address` };
  const local = input.slice(0, at).toLowerCase();
  if (local.length > 64 || !LOCAL_RE.test(local)) return { ok: false, error: `"${input}" has an invalid local part` };
  const dom = checkDomain(input.slice(at + 1));
  if (!dom.ok) return { ok: false, error: `"${input}": ${dom.error}` };
  return { ok: true, value: `${local}@${dom.value}` };
}

/** Canonical email (lower-case ASCII) or null when the input is not an acceptable email. */
export function normaliseEmail(input: string): string | null {
  const r = checkEmail(input);
  return r.ok ? r.value : null;
}

/** Domain part of a canonical email. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf("@") + 1);
}

const KINDS: readonly MemberKind[] = ["user", "serviceAccount", "group"];

/**
 * Results of parseMember by input, frozen (shared by every caller). Policies are compiled,
 * validated and diffed member by member, and the same members come back with every write of a
 * large policy: a lookup costs a tenth of a parse. Bounded: cleared when full.
 */
const parsedMembers = new Map<string, ParseResult<Member>>();
const PARSED_MEMBERS_MAX = 100_000;

/** Parses an IAM v1 member string. Prefixes are case-sensitive, as in IAM. The result is frozen. */
export function parseMember(input: string): ParseResult<Member> {
  let r = parsedMembers.get(input);
  if (r === undefined) {
    r = parseMemberUncached(input);
    if (r.ok) Object.freeze(r.value);
    Object.freeze(r);
    if (parsedMembers.size >= PARSED_MEMBERS_MAX) parsedMembers.clear();
    parsedMembers.set(input, r);
  }
  return r;
}

function parseMemberUncached(input: string): ParseResult<Member> {
  if (input === "allUsers") return { ok: true, value: { kind: "allUsers", key: "allUsers" } };
  if (input === "allAuthenticatedUsers") return { ok: true, value: { kind: "allAuthenticatedUsers", key: "allAuthenticatedUsers" } };
  const colon = input.indexOf(":");
  if (colon < 0) return { ok: false, error: `"${input}" is not a member string (expected user:, serviceAccount:, group:, domain:, deleted:, allUsers or allAuthenticatedUsers)` };
  const prefix = input.slice(0, colon);
  const rest = input.slice(colon + 1);
  if (prefix === "domain") {
    const d = checkDomain(rest);
    return d.ok ? { ok: true, value: { kind: "domain", domain: d.value, key: `domain:${d.value}` } } : d;
  }
  if (prefix === "deleted") {
    const c2 = rest.indexOf(":");
    const of = rest.slice(0, c2) as MemberKind;
    if (c2 < 0 || !KINDS.includes(of)) return { ok: false, error: `"${input}": deleted members look like deleted:user:EMAIL?uid=ID` };
    const q = rest.indexOf("?uid=");
    if (q < 0) return { ok: false, error: `"${input}": deleted member needs ?uid=ID` };
    const uid = rest.slice(q + 5);
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(uid)) return { ok: false, error: `"${input}": invalid uid` };
    const e = checkEmail(rest.slice(c2 + 1, q));
    if (!e.ok) return e;
    return { ok: true, value: { kind: "deleted", of, email: e.value, uid, key: `deleted:${of}:${e.value}?uid=${uid}` } };
  }
  if ((KINDS as readonly string[]).includes(prefix)) {
    const e = checkEmail(rest);
    if (!e.ok) return e;
    const kind = prefix as MemberKind;
    return { ok: true, value: { kind, email: e.value, key: `${kind}:${e.value}` } };
  }
  return { ok: false, error: `"${input}": unknown member type "${prefix}:"` };
}

/** A principal that can be the subject of a check: a live user or service account. */
export interface ParsedPrincipal {
  kind: "user" | "serviceAccount";
  email: string;
  /** Canonical member string, e.g. `user:alice@example.com`. */
  key: string;
}

export function parsePrincipal(input: string): ParseResult<ParsedPrincipal> {
  const m = parseMember(input);
  if (!m.ok) return m;
  const v = m.value;
  if (v.kind !== "user" && v.kind !== "serviceAccount") return { ok: false, error: `"${input}" cannot be a principal of a check (only user: and serviceAccount:)` };
  return { ok: true, value: { kind: v.kind, email: v.email, key: v.key } };
}

/**
 * Deny policies accept v1 member strings and these IAM v2 principal identifiers, mapped to v1:
 * `principal://goog/subject/{email}` → user:, `principal://iam.googleapis.com/projects/-/serviceAccounts/{email}`
 * → serviceAccount:, `principalSet://goog/group/{email}` → group:, `principalSet://goog/public:all` → allUsers,
 * `deleted:principal://goog/subject/{email}?uid={id}` → deleted:user:….
 */
export function parseDenyPrincipal(input: string): ParseResult<Member> {
  if (input === "principalSet://goog/public:all") return parseMember("allUsers");
  const deleted = input.startsWith("deleted:principal");
  const body = deleted ? input.slice("deleted:".length) : input;
  const map: Array<[string, MemberKind]> = [
    ["principal://goog/subject/", "user"],
    ["principal://iam.googleapis.com/projects/-/serviceAccounts/", "serviceAccount"],
    ["principalSet://goog/group/", "group"],
  ];
  for (const [prefix, kind] of map) {
    if (body.startsWith(prefix)) {
      const rest = body.slice(prefix.length);
      return parseMember(deleted ? `deleted:${kind}:${rest}` : `${kind}:${rest}`);
    }
  }
  if (input.startsWith("principal:") || input.startsWith("principalSet:")) return { ok: false, error: `"${input}": unsupported IAM v2 principal identifier` };
  return parseMember(input);
}
