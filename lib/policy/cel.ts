/**
 * CEL conditions through @bufbuild/cel (chosen over @marcbachmann/cel-js: it passes the official
 * conformance data for timestamps with time zones, including fixed offsets, and implements
 * `matches` with an RE2 engine — linear time, RE2 syntax — where cel-js uses JavaScript RegExp).
 *
 * INVARIANTS: a condition is parsed and planned once (`compileCondition`); evaluation never throws
 * (`runCondition` returns an error value instead); a non-boolean result is an error.
 */
import { parse, plan, celEnv, celFunc, celMethod, CelScalar, isCelError, objectType, type CelEnv } from "@bufbuild/cel";
import { fromJson } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { timestampFromMs, TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { parseIp, parseSubnet, ipInSubnet } from "./ip";
import { COMPARISON_FUNCS, TIME_FUNCS } from "./cel-time";

/** GCP allows 12 logical operators per condition; we count `&&`, `||` and `!`. */
export const MAX_LOGICAL_OPERATORS = 12;
/** Our own bound on expression text (characters). */
export const MAX_EXPRESSION_LENGTH = 4096;
/** Our own bound on the number of AST nodes. */
export const MAX_AST_NODES = 400;
/** Static evaluation-cost bound (see `estimateCost`). */
export const MAX_COST = 20_000;
/** Assumed upper bound on the size of a list a comprehension iterates (access levels). */
export const COMPREHENSION_BOUND = 100;

export type ConditionKind = "iam" | "accessLevel";

/** Attributes a condition may read, per kind: root → allowed fields (nested: "auth.access_levels"). */
const ATTRIBUTES: Record<ConditionKind, Record<string, ReadonlySet<string>>> = {
  iam: {
    request: new Set(["time", "host", "path", "method", "auth", "auth.access_levels"]),
    resource: new Set(["type", "service", "name"]),
    destination: new Set(["ip", "port"]),
  },
  accessLevel: {
    request: new Set(["time", "host", "path", "method"]),
    origin: new Set(["ip", "region_code"]),
    principal: new Set([]),
  },
};

const OPERATORS = new Set([
  "_&&_", "_||_", "!_", "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "@in", "_+_", "_-_", "_*_", "_/_", "_%_", "-_", "_?_:_", "_[_]",
  "@not_strictly_false", "not_strictly_false",
]);
const FUNCTIONS = new Set([
  "startsWith", "endsWith", "contains", "matches", "size", "timestamp", "duration", "string", "int", "uint", "double", "bool", "dyn",
  "getHours", "getMinutes", "getSeconds", "getMilliseconds", "getDayOfWeek", "getDayOfMonth", "getDate", "getDayOfYear", "getMonth", "getFullYear",
  "inIpRange", "extract",
]);
const LOGICAL = new Set(["_&&_", "_||_", "!_"]);
/**
 * Timestamp accessors whose result is the same for every millisecond of a second (every zone
 * offset is a whole number of seconds): a condition that reads `request.time` only through these
 * depends on the time only to the second.
 */
const SECOND_ACCESSORS = new Set(["getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes", "getSeconds"]);

/**
 * An attribute a condition reads, as its outcome memo keys it: the attribute's name below its root
 * (`request.auth.access_levels` is `request.auth`), and `request.time/s` for a time read only to the
 * second (see SECOND_ACCESSORS). A read of the exact time has no entry: it disables the memo.
 */
export type ConditionRead =
  | "request.time/s"
  | "request.host"
  | "request.path"
  | "request.method"
  | "request.auth"
  | "resource.type"
  | "resource.service"
  | "resource.name"
  | "destination.ip"
  | "destination.port";

function inIpRange(ip: string, cidr: string): boolean {
  const a = parseIp(ip);
  const s = parseSubnet(cidr);
  if (!a || !s.ok) throw new Error(`inIpRange: invalid ${a ? "range" : "ip"}`);
  return ipInSubnet(a, s.value);
}

/** IAM's `extract`: `'projects/p/x'.extract('projects/{id}/')` → "p"; "" when the template does not match. */
function extract(this: string, template: string): string {
  const open = template.indexOf("{");
  const close = template.indexOf("}", open);
  if (open < 0 || close < 0) throw new Error("extract: template needs one {placeholder}");
  const prefix = template.slice(0, open);
  const suffix = template.slice(close + 1);
  const start = this.indexOf(prefix);
  if (start < 0) return "";
  const from = start + prefix.length;
  if (suffix === "") return this.slice(from);
  const end = this.indexOf(suffix, from);
  return end < 0 ? "" : this.slice(from, end);
}

/**
 * `timestamp(string)` as in the standard library (RFC 3339 via the protobuf JSON mapping, same
 * error), memoised: conditions compare `request.time` with literal timestamps
 * (`request.time < timestamp('2030-01-01T00:00:00Z')`), which would otherwise be parsed on
 * every evaluation. Timestamps are never mutated by CEL functions (they create new ones).
 */
const timestampMemo = new Map<string, ReflectMessage>();
function stringToTimestamp(x: string): ReflectMessage {
  let t = timestampMemo.get(x);
  if (t === undefined) {
    try {
      // Reflected once here: the library would otherwise reflect the returned message per call.
      t = reflect(TimestampSchema, fromJson(TimestampSchema, x));
    } catch (e) {
      throw new Error(`Failed to parse timestamp: ${String(e)}`);
    }
    if (timestampMemo.size >= 1024) timestampMemo.clear();
    timestampMemo.set(x, t);
  }
  return t;
}

const FUNCS = [
  ...TIME_FUNCS,
  ...COMPARISON_FUNCS,
  celFunc("timestamp", [CelScalar.STRING], objectType(TimestampSchema), stringToTimestamp),
  celFunc("inIpRange", [CelScalar.STRING, CelScalar.STRING], CelScalar.BOOL, inIpRange),
  celMethod("extract", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, extract),
];

/** The CEL environment of every condition (standard library + IAM functions + fast time accessors). */
export const CEL_ENV: CelEnv = celEnv({ funcs: FUNCS });
const ENV = CEL_ENV;

export interface ConditionError {
  message: string;
  /** 0-based character offset into the expression. */
  offset?: number;
  /** 1-based line and column. */
  line?: number;
  column?: number;
}

export interface CompiledCondition {
  readonly expression: string;
  readonly kind: ConditionKind;
  /** Evaluates against an activation; returns the CEL value or a CelError (never throws). */
  readonly program: (activation: Record<string, unknown>) => unknown;
  /**
   * Access levels the condition reads: null = none; a set = only via `'<literal>' in
   * request.auth.access_levels`; "all" = any other use of the list.
   */
  readonly accessLevelRefs: ReadonlySet<string> | "all" | null;
  /** Whether `request.path` is read (only then are raw and normalised paths both evaluated). */
  readonly usesPath: boolean;
  readonly cost: number;
  /**
   * For `iam` conditions: every attribute the expression can observe, in a fixed order. The outcome
   * is a function of these values alone (CEL is pure and the allow-list admits no other input), so
   * it may be memoised by them; `memo` is that memo (bounded, shared by the snapshots that share
   * the condition). Null = not memoised: access-level conditions (their inputs differ; the levels
   * have their own memo) and conditions that read the time to the millisecond.
   */
  readonly reads: readonly ConditionRead[] | null;
  readonly memo: Map<string | number | undefined, ConditionOutcome>;
}

export type CompileConditionResult = { ok: true; value: CompiledCondition } | { ok: false; errors: ConditionError[] };

// Minimal structural view of the protobuf AST produced by @bufbuild/cel's parser.
interface AstExpr {
  id: bigint;
  exprKind:
    | { case: "constExpr"; value: { constantKind: { case: string | undefined; value?: unknown } } }
    | { case: "identExpr"; value: { name: string } }
    | { case: "selectExpr"; value: { operand?: AstExpr; field: string; testOnly: boolean } }
    | { case: "callExpr"; value: { function: string; target?: AstExpr; args: AstExpr[] } }
    | { case: "listExpr"; value: { elements: AstExpr[] } }
    | { case: "structExpr"; value: { entries: Array<{ keyKind: { case: string | undefined; value?: unknown }; value?: AstExpr }> } }
    | {
        case: "comprehensionExpr";
        value: { iterRange?: AstExpr; iterVar: string; accuVar: string; accuInit?: AstExpr; loopCondition?: AstExpr; loopStep?: AstExpr; result?: AstExpr };
      }
    | { case: undefined; value?: undefined };
}

function position(expression: string, offset: number | undefined): Pick<ConditionError, "offset" | "line" | "column"> {
  if (offset === undefined) return {};
  const before = expression.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  return { offset, line, column };
}

/** Dotted path of a select chain rooted at an identifier, e.g. ["request","auth","access_levels"]. */
function selectPath(e: AstExpr): string[] | null {
  const parts: string[] = [];
  let cur: AstExpr | undefined = e;
  while (cur && cur.exprKind.case === "selectExpr") {
    parts.unshift(cur.exprKind.value.field);
    cur = cur.exprKind.value.operand;
  }
  if (cur && cur.exprKind.case === "identExpr") {
    parts.unshift(cur.exprKind.value.name);
    return parts;
  }
  return null;
}

function isAccessLevelsSelect(e: AstExpr | undefined): boolean {
  if (!e) return false;
  const p = selectPath(e);
  return p !== null && p.length === 3 && p[0] === "request" && p[1] === "auth" && p[2] === "access_levels";
}

function isRequestTime(e: AstExpr, scope: ReadonlySet<string>): boolean {
  const p = selectPath(e);
  return p !== null && p.length === 2 && p[0] === "request" && p[1] === "time" && !scope.has("request");
}

function stringConst(e: AstExpr | undefined): string | null {
  if (e && e.exprKind.case === "constExpr" && e.exprKind.value.constantKind.case === "stringValue") {
    return e.exprKind.value.constantKind.value as string;
  }
  return null;
}

interface Analysis {
  errors: ConditionError[];
  nodes: number;
  logical: number;
  levels: Set<string>;
  allLevels: boolean;
  usesPath: boolean;
  regexes: Array<{ pattern: string; id: bigint }>;
  reads: Set<string>;
  /** Selections of `request.time`, and how many of them are the target of a SECOND_ACCESSORS call. */
  timeSelects: number;
  timeBySecond: number;
}

/** Walks the AST: attribute allow-list, function allow-list, counts, access-level references; returns the node's cost. */
function analyse(e: AstExpr | undefined, kind: ConditionKind, scope: ReadonlySet<string>, depth: number, a: Analysis, pos: (id: bigint) => number | undefined, expr: string): number {
  if (!e) return 0;
  a.nodes++;
  const err = (message: string) => a.errors.push({ message, ...position(expr, pos(e.id)) });
  const k = e.exprKind;
  switch (k.case) {
    case "constExpr":
      return 1;
    case "identExpr": {
      const name = k.value.name;
      if (!scope.has(name) && !(name in ATTRIBUTES[kind])) err(`unknown identifier "${name}"`);
      else if (name in ATTRIBUTES[kind] && kind === "iam" && !scope.has(name)) err(`"${name}" must be followed by an attribute (e.g. ${name}.${[...(ATTRIBUTES[kind][name] ?? [])][0] ?? "x"})`);
      return 1;
    }
    case "selectExpr": {
      const p = selectPath(e);
      if (p && p[0] !== undefined && !scope.has(p[0])) {
        const allowed = ATTRIBUTES[kind][p[0]];
        if (!allowed) err(`unknown identifier "${p[0]}"`);
        else {
          const field = p.slice(1).join(".");
          if (!allowed.has(field) && !(p[0] === "principal")) err(`unknown attribute "${p.join(".")}" (allowed: ${[...allowed].map((f) => `${p[0]}.${f}`).join(", ")})`);
          if (p[0] === "request" && p[1] === "path") a.usesPath = true;
          if (p[0] === "request" && p[1] === "time") a.timeSelects++;
          else a.reads.add(`${p[0]}.${p[1]}`);
          if (isAccessLevelsSelect(e)) a.allLevels = true;
        }
        a.nodes += p.length - 1;
        return p.length;
      }
      return 1 + analyse(k.value.operand, kind, scope, depth, a, pos, expr);
    }
    case "callExpr": {
      const fn = k.value.function;
      if (LOGICAL.has(fn)) a.logical++;
      if (!OPERATORS.has(fn) && !FUNCTIONS.has(fn)) err(`unknown function "${fn}"`);
      if (SECOND_ACCESSORS.has(fn) && k.value.target && isRequestTime(k.value.target, scope)) a.timeBySecond++;
      if (fn === "@in" && isAccessLevelsSelect(k.value.args[1])) {
        const lit = stringConst(k.value.args[0]);
        if (lit !== null) {
          a.reads.add("request.auth");
          a.levels.add(lit);
          a.nodes += 4;
          return 4;
        }
      }
      if (fn === "matches") {
        const pat = stringConst(k.value.args[0]);
        if (pat !== null) a.regexes.push({ pattern: pat, id: e.id });
      }
      let cost = 1 + analyse(k.value.target, kind, scope, depth, a, pos, expr);
      for (const arg of k.value.args) cost += analyse(arg, kind, scope, depth, a, pos, expr);
      // String functions are linear in their input; charge a flat factor for them.
      if (fn === "matches" || fn === "contains" || fn === "startsWith" || fn === "endsWith" || fn === "extract") cost += 10;
      return cost;
    }
    case "listExpr": {
      let cost = 1;
      for (const el of k.value.elements) cost += analyse(el, kind, scope, depth, a, pos, expr);
      return cost;
    }
    case "structExpr": {
      let cost = 1;
      for (const en of k.value.entries) {
        if (en.keyKind.case === "mapKey") cost += analyse(en.keyKind.value as AstExpr, kind, scope, depth, a, pos, expr);
        cost += analyse(en.value, kind, scope, depth, a, pos, expr);
      }
      return cost;
    }
    case "comprehensionExpr": {
      const c = k.value;
      if (depth >= 1) err("nested comprehensions are not allowed (evaluation cost bound)");
      const inner = new Set(scope);
      inner.add(c.iterVar);
      inner.add(c.accuVar);
      const range = analyse(c.iterRange, kind, scope, depth, a, pos, expr);
      const init = analyse(c.accuInit, kind, scope, depth, a, pos, expr);
      const body =
        analyse(c.loopCondition, kind, inner, depth + 1, a, pos, expr) +
        analyse(c.loopStep, kind, inner, depth + 1, a, pos, expr);
      const result = analyse(c.result, kind, inner, depth, a, pos, expr);
      return range + init + result + body * COMPREHENSION_BOUND;
    }
    default:
      err("unsupported expression");
      return 1;
  }
}

/** Representative values for every attribute, used to type-check a condition by a dry run. */
function sampleActivation(kind: ConditionKind): Record<string, unknown> {
  const time = timestampFromMs(Date.UTC(2024, 0, 1, 12));
  if (kind === "accessLevel") {
    return {
      request: { time, host: "example.com", path: "/", method: "GET" },
      origin: { ip: "10.0.0.1", region_code: "US" },
      principal: "user:someone@example.com",
    };
  }
  return {
    request: { time, host: "example.com", path: "/", method: "GET", auth: { access_levels: ["accessPolicies/0/accessLevels/sample"] } },
    resource: { type: "iap.googleapis.com/WebService", service: "iap.googleapis.com", name: "projects/p/iap_web/compute/services/s" },
    destination: { ip: "10.0.0.1", port: 22n },
  };
}

/** Errors a dry run may legitimately hit with sample data (data-dependent, not type errors). */
const DATA_DEPENDENT_ERROR = /index out of (range|bounds)|divide by zero|division by zero|modulus by zero|inIpRange: invalid ip/i;

/**
 * Compiles and validates a condition: syntax (with position), attribute and function allow-lists,
 * logical-operator limit, size and cost bounds, regex validity, and a type check by dry run.
 */
export function compileCondition(expression: string, kind: ConditionKind = "iam"): CompileConditionResult {
  if (typeof expression !== "string" || expression.trim() === "") return { ok: false, errors: [{ message: "expression is empty" }] };
  if (expression.length > MAX_EXPRESSION_LENGTH) return { ok: false, errors: [{ message: `expression is ${expression.length} characters; the limit is ${MAX_EXPRESSION_LENGTH}` }] };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression);
  } catch (e) {
    const err = e as Error & { location?: { start?: { offset?: number } } };
    const offset = err.location?.start?.offset;
    const msg = err.message.replace(/^<input>:\d+:\d+: /, "");
    return { ok: false, errors: [{ message: `syntax error: ${msg}`, ...position(expression, offset) }] };
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const pos = (id: bigint): number | undefined => (positions as Record<string, number>)[String(id)];
  const a: Analysis = { errors: [], nodes: 0, logical: 0, levels: new Set(), allLevels: false, usesPath: false, regexes: [], reads: new Set(), timeSelects: 0, timeBySecond: 0 };
  const cost = analyse(parsed.expr as unknown as AstExpr, kind, new Set(), 0, a, pos, expression);
  if (a.logical > MAX_LOGICAL_OPERATORS) a.errors.push({ message: `${a.logical} logical operators; the limit is ${MAX_LOGICAL_OPERATORS}` });
  if (a.nodes > MAX_AST_NODES) a.errors.push({ message: `expression has ${a.nodes} nodes; the limit is ${MAX_AST_NODES}` });
  if (cost > MAX_COST) a.errors.push({ message: `estimated evaluation cost ${cost} exceeds ${MAX_COST}` });
  for (const r of a.regexes) {
    const probe = plan(ENV, parse(`''.matches(${JSON.stringify(r.pattern)})`))({});
    if (isCelError(probe)) a.errors.push({ message: `invalid regular expression ${JSON.stringify(r.pattern)}: ${probe.message}`, ...position(expression, pos(r.id)) });
  }
  if (a.errors.length > 0) return { ok: false, errors: a.errors };
  let program: (activation: Record<string, unknown>) => unknown;
  try {
    const planned = plan(ENV, parsed);
    program = (activation) => planned(activation as never);
  } catch (e) {
    return { ok: false, errors: [{ message: `cannot plan: ${(e as Error).message}` }] };
  }
  const probe = program(sampleActivation(kind));
  if (isCelError(probe)) {
    if (!DATA_DEPENDENT_ERROR.test(probe.message)) {
      const p = probe.exprId !== undefined ? pos(probe.exprId) : undefined;
      return { ok: false, errors: [{ message: `type error: ${probe.message}`, ...position(expression, p) }] };
    }
  } else if (typeof probe !== "boolean") {
    return { ok: false, errors: [{ message: "expression must evaluate to a bool" }] };
  }
  return {
    ok: true,
    value: {
      expression,
      kind,
      program,
      accessLevelRefs: a.allLevels ? "all" : a.levels.size > 0 ? a.levels : null,
      usesPath: a.usesPath,
      cost,
      reads: kind === "iam" ? readsOf(a) : null,
      memo: new Map(),
    },
  };
}

/** The reads in a fixed order (the memo key's order). */
function readsOf(a: Analysis): ConditionRead[] | null {
  // A read of the exact time makes every millisecond a new key: such outcomes are not memoised.
  if (a.timeSelects > a.timeBySecond) return null;
  const reads = [...a.reads].sort() as ConditionRead[];
  if (a.timeSelects > 0) reads.unshift("request.time/s");
  return reads;
}

/**
 * A condition that failed to compile: evaluates to an error, so it never grants and (as a deny
 * condition) always denies. Used when stored data holds an expression that no longer validates.
 */
export function brokenCondition(expression: string, kind: ConditionKind, message: string): CompiledCondition {
  return { expression, kind, program: () => new Error(message), accessLevelRefs: null, usesPath: false, cost: 0, reads: null, memo: new Map() };
}

/** Compiles, falling back to a broken (always-error) condition. */
export function compileOrBroken(expression: string, kind: ConditionKind = "iam"): CompiledCondition {
  const r = compileCondition(expression, kind);
  return r.ok ? r.value : brokenCondition(expression, kind, r.errors.map((e) => e.message).join("; "));
}

export type ConditionOutcome = { ok: true; value: boolean } | { ok: false; error: string };

/** Runs a compiled condition. Never throws; non-boolean results are errors. */
export function runCondition(c: CompiledCondition, activation: Record<string, unknown>): ConditionOutcome {
  let v: unknown;
  try {
    v = c.program(activation);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  if (v === true || v === false) return { ok: true, value: v };
  if (isCelError(v) || v instanceof Error) return { ok: false, error: v.message };
  return { ok: false, error: "condition did not evaluate to a bool" };
}

export function toCelTimestamp(d: Date): Timestamp {
  return timestampFromMs(d.getTime());
}
