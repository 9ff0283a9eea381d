/**
 * CEL timestamp accessors (`getHours(tz)`, `getDayOfWeek(tz)`, …) replacing @bufbuild/cel's
 * standard ones, with the same semantics (CEL spec: IANA names, "UTC", fixed offsets "+05:30";
 * month, day-of-month and day-of-year 0-based; getDate 1-based; Sunday = 0) but:
 *  - independent of the host's time zone (the standard ones build local-time Dates), and
 *  - fast: one Intl.DateTimeFormat per zone, and a small memo of wall-clock fields per
 *    (zone, second) — creating a DateTimeFormat per call costs tens of microseconds.
 */
import { celFunc, celMethod, CelScalar, objectType, type CelType } from "@bufbuild/cel";
import { DurationSchema, TimestampSchema, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";

interface Wall {
  year: number;
  month: number; // 0-based
  day: number; // 1-based
  hour: number;
  minute: number;
  second: number;
  /** Sunday = 0. */
  dayOfWeek: number;
  /** 0-based. */
  dayOfYear: number;
}

/** The derived fields, computed once per wall clock (a Date per call showed up in profiles). */
function withDays(w: Omit<Wall, "dayOfWeek" | "dayOfYear">): Wall {
  const days = Date.UTC(w.year, w.month, w.day) / 86_400_000;
  // 1970-01-01 was a Thursday (4).
  return { ...w, dayOfWeek: (((days + 4) % 7) + 7) % 7, dayOfYear: days - Date.UTC(w.year, 0, 1) / 86_400_000 };
}

const formats = new Map<string, Intl.DateTimeFormat>();
const memo = new Map<string, Wall>();
const MEMO_LIMIT = 4096;
const OFFSET_RE = /^([+-]?)(\d\d):(\d\d)$/;

function utcWall(ms: number): Wall {
  const d = new Date(ms);
  return withDays({ year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() });
}

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    // Throws RangeError("Invalid time zone specified: …") for unknown zones → a CEL error.
    f = new Intl.DateTimeFormat("en-US", { hourCycle: "h23", timeZone: tz, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    if (formats.size < 1024) formats.set(tz, f);
  }
  return f;
}

/** A time zone argument, parsed once: a fixed offset or a named zone, with its last wall clock. */
interface Zone {
  /** Offset in minutes for "UTC" / "+05:30"-style zones; null for IANA names. */
  readonly offset: number | null;
  /** The second (ms / 1000, floored) `wall` is for; NaN before first use. */
  sec: number;
  wall: Wall | null;
}
const zones = new Map<string, Zone>();
const UTC_ZONE = "UTC";

function zoneOf(tz: string): Zone {
  let z = zones.get(tz);
  if (z === undefined) {
    const off = tz === UTC_ZONE ? null : OFFSET_RE.exec(tz);
    let offset: number | null = null;
    if (tz === UTC_ZONE) offset = 0;
    else if (off) offset = (off[1] === "-" ? -1 : 1) * (Number(off[2]) * 60 + Number(off[3]));
    else format(tz); // throws for an unknown zone (→ a CEL error), before anything is cached
    z = { offset, sec: NaN, wall: null };
    if (zones.size < 1024) zones.set(tz, z);
  }
  return z;
}

/** Wall-clock fields of a timestamp in a zone (default UTC); memoised per (zone, second). */
function wall(ms: number, tz: string | undefined): Wall {
  const z = zoneOf(tz ?? UTC_ZONE);
  const sec = Math.floor(ms / 1000);
  if (z.sec === sec && z.wall !== null) return z.wall;
  let w: Wall | undefined;
  if (z.offset !== null) w = utcWall(ms + z.offset * 60_000);
  else {
    const key = `${tz}\u0000${sec}`;
    w = memo.get(key);
    if (!w) {
      const parts = format(tz as string).formatToParts(new Date(ms));
      const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
      w = withDays({ year: get("year"), month: get("month") - 1, day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") });
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(key, w);
    }
  }
  z.sec = sec;
  z.wall = w;
  return w;
}

function msOf(ts: Timestamp): number {
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

const ACCESSORS: Array<[string, (w: Wall, ms: number) => number]> = [
  ["getFullYear", (w) => w.year],
  ["getMonth", (w) => w.month],
  ["getDate", (w) => w.day],
  ["getDayOfMonth", (w) => w.day - 1],
  ["getDayOfWeek", (w) => w.dayOfWeek],
  ["getDayOfYear", (w) => w.dayOfYear],
  ["getHours", (w) => w.hour],
  ["getMinutes", (w) => w.minute],
  ["getSeconds", (w) => w.second],
  ["getMilliseconds", (_w, ms) => ms],
];

const TIMESTAMP = objectType(TimestampSchema);

/** CEL ints for the accessors' usual results (0…999): a BigInt per call showed up in profiles. */
const SMALL_INTS = Array.from({ length: 1000 }, (_, i) => BigInt(i));
function celInt(n: number): bigint {
  return SMALL_INTS[n] ?? BigInt(n);
}

const DURATION = objectType(DurationSchema);

/** Duration accessors exactly as in the standard library (re-declared only to come after ours, see below). */
const DURATION_ACCESSORS: Array<[string, (d: Duration) => bigint]> = [
  ["getSeconds", (d) => d.seconds],
  ["getMinutes", (d) => d.seconds / 60n],
  ["getHours", (d) => d.seconds / 3600n],
  ["getMilliseconds", (d) => BigInt(d.nanos) / 1000000n],
];

/**
 * The accessors. Overloads are tried in order and each try computes the CEL type of the target (for
 * a timestamp, an allocation), so the common `getHours(tz)` form comes first; the standard
 * library's duration overloads are re-declared after them (same behaviour, later position).
 */
export const TIME_FUNCS = [
  ...ACCESSORS.flatMap(([name, f]) => [
    celMethod(name, TIMESTAMP, [CelScalar.STRING], CelScalar.INT, function (tz: string) {
      const ms = msOf(this.message as Timestamp);
      return celInt(f(wall(ms, tz), ((ms % 1000) + 1000) % 1000));
    }),
    celMethod(name, TIMESTAMP, [], CelScalar.INT, function () {
      const ms = msOf(this.message as Timestamp);
      return celInt(f(wall(ms, undefined), ((ms % 1000) + 1000) % 1000));
    }),
  ]),
  ...DURATION_ACCESSORS.map(([name, f]) =>
    celMethod(name, DURATION, [], CelScalar.INT, function () {
      return f(this.message as Duration);
    }),
  ),
];

// Ordering comparisons. Same overloads and behaviour as the standard library, re-declared so that
// timestamps and durations come first: the library tries overloads in order, and typing a
// timestamp argument allocates, so `request.time < timestamp(…)` used to type it ~14 times.

type Cmp = (a: never, b: never) => boolean;
const { BOOL, BYTES, DOUBLE, INT, STRING, UINT } = CelScalar;

function compareSecondsNanos(l: { seconds: bigint; nanos: number }, r: { seconds: bigint; nanos: number }): number {
  const cmp = l.seconds - r.seconds;
  if (cmp == 0n) return l.nanos - r.nanos;
  return cmp < 0n ? -1 : 1;
}

function compareBytes(l: Uint8Array, r: Uint8Array): number {
  const n = Math.min(l.length, r.length);
  for (let i = 0; i < n; i++) {
    if ((l[i] as number) < (r[i] as number)) return -1;
    if ((l[i] as number) > (r[i] as number)) return 1;
  }
  return l.length - r.length;
}

const COMPARISONS: Array<[string, (a: unknown, b: unknown) => boolean]> = [
  ["_<_", (a, b) => (a as number) < (b as number)],
  ["_<=_", (a, b) => (a as number) <= (b as number)],
  ["_>_", (a, b) => (a as number) > (b as number)],
  ["_>=_", (a, b) => (a as number) >= (b as number)],
];

type Wrapped = { message: { seconds: bigint; nanos: number } };
type Uint = { value: bigint };

export const COMPARISON_FUNCS = COMPARISONS.flatMap(([name, op]) =>
  (
    [
      [TIMESTAMP, TIMESTAMP, (l: Wrapped, r: Wrapped) => op(compareSecondsNanos(l.message, r.message), 0)],
      [DURATION, DURATION, (l: Wrapped, r: Wrapped) => op(compareSecondsNanos(l.message, r.message), 0)],
      [INT, INT, (l: bigint, r: bigint) => op(l, r)],
      [DOUBLE, DOUBLE, (l: number, r: number) => op(l, r)],
      [STRING, STRING, (l: string, r: string) => op(l, r)],
      [BOOL, BOOL, (l: boolean, r: boolean) => op(l, r)],
      [BYTES, BYTES, (l: Uint8Array, r: Uint8Array) => op(compareBytes(l, r), 0)],
      [INT, UINT, (l: bigint, r: Uint) => op(l, r.value)],
      [UINT, INT, (l: Uint, r: bigint) => op(l.value, r)],
      [UINT, UINT, (l: Uint, r: Uint) => op(l.value, r.value)],
      [INT, DOUBLE, (l: bigint, r: number) => op(Number(l), r)],
      [DOUBLE, INT, (l: number, r: bigint) => op(l, Number(r))],
      [DOUBLE, UINT, (l: number, r: Uint) => op(l, Number(r.value))],
      [UINT, DOUBLE, (l: Uint, r: number) => op(Number(l.value), r)],
    ] as Array<[CelType, CelType, Cmp]>
  ).map(([a, b, impl]) => celFunc(name, [a, b], BOOL, impl as (...args: unknown[]) => boolean)),
);
