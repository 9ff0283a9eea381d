// Member strings exactly as IAM writes them, and email normalisation.
// Emails compare case-insensitively: they are stored lower-cased. Non-ASCII is refused rather
// than folded, so a look-alike ("аlice" with a Cyrillic а) can never alias a real account;
// internationalised domains are written in their ASCII (punycode) form.

const EMAIL_RE = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const DOMAIN_RE = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Lower-cases the email (or domain) part of a member string; other text is kept as written. */
export function normaliseMember(member: string): string {
  const m = member.match(/^(user|serviceAccount|group|domain):(.*)$/);
  if (m) return `${m[1]}:${normaliseEmail(m[2] ?? "")}`;
  const d = member.match(/^deleted:(user|serviceAccount|group):([^?]*)(\?uid=.*)$/);
  if (d) return `deleted:${d[1]}:${normaliseEmail(d[2] ?? "")}${d[3]}`;
  return member;
}

/** Why `email` is not acceptable, or null. */
export function emailProblem(email: string): string | null {
  if (/[^\x00-\x7f]/.test(email)) return `"${email}" contains non-ASCII characters (look-alike characters are refused; write domains in punycode)`;
  if (email.length > 254 || !EMAIL_RE.test(normaliseEmail(email))) return `"${email}" is not an email address`;
  return null;
}

/** Why `member` is not a valid IAM member string, or null. */
export function memberProblem(member: string): string | null {
  if (member === "allUsers" || member === "allAuthenticatedUsers") return null;
  const m = member.match(/^(user|serviceAccount|group|domain|deleted):(.*)$/);
  if (!m) return `"${member}" is not a member string (user:, serviceAccount:, group:, domain:, deleted:, allUsers, allAuthenticatedUsers)`;
  const [, kind, rest = ""] = m;
  if (kind === "domain") return DOMAIN_RE.test(rest) ? null : `"${rest}" is not a lower-case domain`;
  if (kind === "deleted") {
    const d = rest.match(/^(user|serviceAccount|group):([^?]+)\?uid=([A-Za-z0-9-]+)$/);
    if (!d) return `"${member}" is not a deleted member (deleted:user:EMAIL?uid=ID)`;
    return emailProblem(d[2] ?? "");
  }
  return emailProblem(rest);
}
