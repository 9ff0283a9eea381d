// The IAP panel's condition builder: a form's choices (host, path, time window, hours, days of
// week, access levels) → one CEL expression over the attributes IAP offers, and a title. Pure and
// shared by the client form and its tests; the expression is validated by the core's compiler
// (lib/policy compileCondition, through the checkCondition server action) like any other.

export interface ConditionChoices {
  /** request.host equals one of these (lower-case, as IAP normalises it). */
  hosts: string[];
  /** request.path starts with one of these. */
  pathPrefixes: string[];
  /** RFC 3339 timestamps (UTC); access from / until. */
  notBefore?: string;
  notAfter?: string;
  /** Hours of the day, [from, until) in `timeZone`: 9 and 17 = 09:00–16:59. */
  hours?: { from: number; until: number };
  /** Days of the week in `timeZone`, 0 = Sunday … 6 = Saturday (CEL's getDayOfWeek). */
  days: number[];
  /** IANA time zone for hours and days (default UTC). */
  timeZone?: string;
  /** Access level names (accessPolicies/{p}/accessLevels/{l}); all must be satisfied. */
  accessLevels: string[];
}

export const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;

export const EMPTY_CHOICES: ConditionChoices = { hosts: [], pathPrefixes: [], days: [], accessLevels: [] };

/** A CEL string literal (JSON's escapes are valid CEL escapes). */
const lit = (s: string) => JSON.stringify(s);

const clean = (xs: readonly string[]) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];

/** The expression the choices describe, or null when nothing is chosen (no condition). */
export function buildExpression(c: ConditionChoices): string | null {
  const parts: string[] = [];
  const hosts = clean(c.hosts).map((h) => h.toLowerCase());
  if (hosts.length === 1) parts.push(`request.host == ${lit(hosts[0]!)}`);
  else if (hosts.length > 1) parts.push(`request.host in [${hosts.map(lit).join(", ")}]`);
  const paths = clean(c.pathPrefixes);
  if (paths.length === 1) parts.push(`request.path.startsWith(${lit(paths[0]!)})`);
  else if (paths.length > 1) parts.push(`(${paths.map((p) => `request.path.startsWith(${lit(p)})`).join(" || ")})`);
  if (c.notBefore) parts.push(`request.time >= timestamp(${lit(c.notBefore)})`);
  if (c.notAfter) parts.push(`request.time < timestamp(${lit(c.notAfter)})`);
  const tz = c.timeZone?.trim() ? lit(c.timeZone.trim()) : "";
  if (c.hours) {
    parts.push(`request.time.getHours(${tz}) >= ${c.hours.from}`);
    parts.push(`request.time.getHours(${tz}) < ${c.hours.until}`);
  }
  const days = [...new Set(c.days)].filter((d) => Number.isInteger(d) && d >= 0 && d <= 6).sort();
  if (days.length > 0 && days.length < 7) parts.push(`request.time.getDayOfWeek(${tz}) in [${days.join(", ")}]`);
  for (const level of clean(c.accessLevels)) parts.push(`${lit(level)} in request.auth.access_levels`);
  return parts.length === 0 ? null : parts.join(" && ");
}

/** A short default title for the choices (an admin may change it; IAM needs one). */
export function suggestTitle(c: ConditionChoices): string {
  const bits: string[] = [];
  const paths = clean(c.pathPrefixes);
  const hosts = clean(c.hosts);
  if (hosts.length) bits.push(hosts.length === 1 ? `Host ${hosts[0]}` : `${hosts.length} hosts`);
  if (paths.length) bits.push(paths.length === 1 ? `Path ${paths[0]}` : `${paths.length} paths`);
  if (c.notBefore || c.notAfter) bits.push(c.notAfter ? `Until ${c.notAfter.slice(0, 10)}` : `From ${c.notBefore!.slice(0, 10)}`);
  if (c.hours) bits.push(`${String(c.hours.from).padStart(2, "0")}–${String(c.hours.until).padStart(2, "0")} h`);
  const days = [...new Set(c.days)].sort();
  if (days.length > 0 && days.length < 7) bits.push(days.join(",") === "1,2,3,4,5" ? "Weekdays" : days.map((d) => DAY_NAMES[d]!.slice(0, 3)).join(" "));
  const levels = clean(c.accessLevels);
  if (levels.length) bits.push(levels.length === 1 ? `Level ${levels[0]!.slice(levels[0]!.lastIndexOf("/") + 1)}` : `${levels.length} access levels`);
  return bits.join(", ").slice(0, 100);
}
