/**
 * The decision-case table format (cases/cases.yaml) and a pure loader. Each world is a §6 world
 * file (apply-able to a database); each check expands to one or more assertions (the cartesian
 * product of `principals` × `resources` × `paths` when those list forms are used).
 *
 * Checks that set no time use DEFAULT_CASE_TIME; `timeDependent` marks those that set one, so an
 * HTTP replay without a test clock can skip them.
 */
import { parse as parseYaml } from "yaml";
import type { CheckInput, DeniedBy, GrantedBy, PolicyData, Reason } from "./types";
import { REASONS } from "./types";
import { worldToPolicyData, type World } from "./world";

export const DEFAULT_CASE_TIME = "2024-06-03T10:00:00Z"; // a Monday, 12:00 in Berlin

export interface CaseRequest {
  time?: string;
  host?: string;
  path?: string;
  /** List form: one assertion per path. */
  paths?: string[];
  method?: string;
  ip?: string;
  regionCode?: string;
}

export interface CaseExpect {
  allowed: boolean;
  reason?: Reason;
  /** Fields to match; `null` asserts that there is none. */
  grantedBy?: Partial<GrantedBy> | null;
  deniedBy?: Partial<DeniedBy> | null;
  accessLevels?: { satisfied?: string[]; unsatisfied?: string[] };
}

export interface CaseCheck {
  name?: string;
  principal?: string | null;
  principals?: Array<string | null>;
  resource?: string;
  resources?: string[];
  permission?: string;
  request?: CaseRequest;
  destination?: { ip?: string; port?: number };
  explain?: boolean;
  expect: CaseExpect;
}

export interface CaseWorld {
  name: string;
  description?: string;
  world: World;
  /** Defaults merged into every check (request fields merge one level deep). */
  defaults?: Omit<CaseCheck, "expect" | "name">;
  checks: CaseCheck[];
}

export interface CaseFile {
  worlds: CaseWorld[];
}

/** Expected result in the shape of the decision API's JSON (time as ISO string). */
export interface ExpandedCase {
  world: string;
  name: string;
  /** JSON-able check as the decision API takes it. */
  input: {
    principal: string | null;
    resource: string;
    permission?: string;
    request: Omit<CaseRequest, "paths"> & { time: string };
    destination?: { ip?: string; port?: number };
    explain?: boolean;
  };
  timeDependent: boolean;
  expect: CaseExpect;
}

export interface LoadedWorld {
  name: string;
  description?: string;
  world: World;
  data: PolicyData;
  cases: ExpandedCase[];
}

export function checkInputOf(c: ExpandedCase): CheckInput {
  const { time, ...rest } = c.input.request;
  const out: CheckInput = { principal: c.input.principal, resource: c.input.resource, request: { ...rest, time: new Date(time) } };
  if (c.input.permission !== undefined) out.permission = c.input.permission;
  if (c.input.destination !== undefined) out.destination = c.input.destination;
  if (c.input.explain !== undefined) out.explain = c.input.explain;
  return out;
}

function fail(msg: string): never {
  throw new Error(`case table: ${msg}`);
}

/** Expands a parsed case file; throws with a precise message on malformed entries. */
export function expandCases(file: CaseFile): LoadedWorld[] {
  if (!file || !Array.isArray(file.worlds)) fail("top level needs `worlds: [...]`");
  const names = new Set<string>();
  return file.worlds.map((w, wi) => {
    if (!w.name) fail(`worlds[${wi}] needs a name`);
    if (names.has(w.name)) fail(`duplicate world name ${w.name}`);
    names.add(w.name);
    const cases: ExpandedCase[] = [];
    (w.checks ?? []).forEach((c0, ci) => {
      const d = w.defaults ?? {};
      const c: CaseCheck = { ...d, ...c0, request: { ...(d.request ?? {}), ...(c0.request ?? {}) } };
      const where = `${w.name} checks[${ci}]`;
      if (!c.expect || typeof c.expect.allowed !== "boolean") fail(`${where}: expect.allowed is required`);
      if (c.expect.reason !== undefined && !REASONS.includes(c.expect.reason)) fail(`${where}: unknown reason ${c.expect.reason}`);
      const principals = c0.principals ?? (c0.principal !== undefined ? [c0.principal] : (d.principals ?? (d.principal !== undefined ? [d.principal] : null)));
      if (principals === null) fail(`${where}: principal or principals is required (null = anonymous)`);
      const resources = c0.resources ?? (c0.resource !== undefined ? [c0.resource] : (d.resources ?? (d.resource !== undefined ? [d.resource] : null)));
      if (resources === null) fail(`${where}: resource or resources is required`);
      const req = c.request ?? {};
      const paths: Array<string | undefined> = c0.request?.paths ?? (c0.request?.path !== undefined ? [c0.request.path] : (req.paths ?? [req.path]));
      const timeDependent = req.time !== undefined;
      for (const p of principals) {
        for (const r of resources) {
          for (const path of paths) {
            const { paths: _paths, ...reqRest } = req;
            const request: ExpandedCase["input"]["request"] = { ...reqRest, time: req.time ?? DEFAULT_CASE_TIME };
            if (path === undefined) delete request.path;
            else request.path = path;
            // `null` in a check removes a default (e.g. `host: null` = no host attribute).
            for (const k of Object.keys(request) as Array<keyof typeof request>) if (request[k] === null) delete request[k];
            const input: ExpandedCase["input"] = { principal: p, resource: r, request };
            if (c.permission !== undefined) input.permission = c.permission;
            if (c.destination !== undefined) input.destination = c.destination;
            if (c.explain !== undefined) input.explain = c.explain;
            const label = c.name ?? `#${ci}`;
            const suffix = [principals.length > 1 ? String(p) : "", resources.length > 1 ? r : "", paths.length > 1 ? String(path) : ""].filter(Boolean).join(" ");
            cases.push({ world: w.name, name: suffix ? `${label} [${suffix}]` : label, input, timeDependent, expect: c.expect });
          }
        }
      }
    });
    return { name: w.name, description: w.description, world: w.world ?? {}, data: worldToPolicyData(w.world ?? {}), cases };
  });
}

/** Parses the YAML (or JSON) text of a case table. */
export function parseCaseTable(text: string): LoadedWorld[] {
  return expandCases(parseYaml(text) as CaseFile);
}

/** Compares a decision with an expectation; returns the list of mismatches (empty = pass). */
export function compareDecision(
  d: { allowed: boolean; reason: string; grantedBy?: object; deniedBy?: object; accessLevels?: { satisfied: string[]; unsatisfied: string[] } },
  e: CaseExpect,
): string[] {
  const out: string[] = [];
  if (d.allowed !== e.allowed) out.push(`allowed: got ${d.allowed}, want ${e.allowed}`);
  if (e.reason !== undefined && d.reason !== e.reason) out.push(`reason: got ${d.reason}, want ${e.reason}`);
  const sub = (label: string, got: object | undefined, want: object | null | undefined) => {
    if (want === undefined) return;
    if (want === null) {
      if (got !== undefined) out.push(`${label}: got ${JSON.stringify(got)}, want none`);
      return;
    }
    if (got === undefined) {
      out.push(`${label}: got none, want ${JSON.stringify(want)}`);
      return;
    }
    for (const [k, v] of Object.entries(want)) {
      const g = (got as Record<string, unknown>)[k];
      if (JSON.stringify(g) !== JSON.stringify(v)) out.push(`${label}.${k}: got ${JSON.stringify(g)}, want ${JSON.stringify(v)}`);
    }
  };
  sub("grantedBy", d.grantedBy, e.grantedBy);
  sub("deniedBy", d.deniedBy, e.deniedBy);
  if (e.accessLevels?.satisfied !== undefined && JSON.stringify([...(d.accessLevels?.satisfied ?? [])].sort()) !== JSON.stringify([...e.accessLevels.satisfied].sort())) {
    out.push(`accessLevels.satisfied: got ${JSON.stringify(d.accessLevels?.satisfied)}, want ${JSON.stringify(e.accessLevels.satisfied)}`);
  }
  if (e.accessLevels?.unsatisfied !== undefined && JSON.stringify([...(d.accessLevels?.unsatisfied ?? [])].sort()) !== JSON.stringify([...e.accessLevels.unsatisfied].sort())) {
    out.push(`accessLevels.unsatisfied: got ${JSON.stringify(d.accessLevels?.unsatisfied)}, want ${JSON.stringify(e.accessLevels.unsatisfied)}`);
  }
  return out;
}
