/**
 * CEL timestamp accessors (`getHours(tz)`, `getDayOfWeek(tz)`, …) replacing @bufbuild/cel's
 * standard ones, with the same semantics (CEL spec: IANA names, "UTC", fixed offsets "+05:30";
 * month, day-of-month and day-of-year 0-based; getDate 1-based; Sunday = 0) but:
 *  - independent of the host's time zone (the standard ones build local-time Dates), and
 *  - fast: one Intl.DateTimeFormat per zone, and a small memo of wall-clock fields per
 *    (zone, second) — creating a DateTimeFormat per call costs tens of microseconds.
 */
import { celMethod, CelScalar, objectType } from "@bufbuild/cel";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";

interface Wall {
  year: number;
  month: number; // 0-based
  day: number; // 1-based
  hour: number;
  minute: number;
  second: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const memo = new Map<string, Wall>();
const MEMO_LIMIT = 4096;
const OFFSET_RE = /^([+-]?)(\d\d):(\d\d)$/;

function utcWall(ms: number): Wall {
  const d = new Date(ms);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
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

function wall(ts: Timestamp, tz: string | undefined): { w: Wall; ms: number } {
  const ms = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
  const milli = ((ms % 1000) + 1000) % 1000;
  if (tz === undefined || tz === "UTC") return { w: utcWall(ms), ms: milli };
  const off = OFFSET_RE.exec(tz);
  if (off) {
    const minutes = Number(off[2]) * 60 + Number(off[3]);
    return { w: utcWall(ms + (off[1] === "-" ? -minutes : minutes) * 60_000), ms: milli };
  }
  const key = `${tz}\u0000${Math.floor(ms / 1000)}`;
  let w = memo.get(key);
  if (!w) {
    const parts = format(tz).formatToParts(new Date(ms));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
    w = { year: get("year"), month: get("month") - 1, day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, w);
  }
  return { w, ms: milli };
}

const ACCESSORS: Array<[string, (w: Wall, ms: number) => number]> = [
  ["getFullYear", (w) => w.year],
  ["getMonth", (w) => w.month],
  ["getDate", (w) => w.day],
  ["getDayOfMonth", (w) => w.day - 1],
  ["getDayOfWeek", (w) => new Date(Date.UTC(w.year, w.month, w.day)).getUTCDay()],
  ["getDayOfYear", (w) => Math.round((Date.UTC(w.year, w.month, w.day) - Date.UTC(w.year, 0, 1)) / 86_400_000)],
  ["getHours", (w) => w.hour],
  ["getMinutes", (w) => w.minute],
  ["getSeconds", (w) => w.second],
  ["getMilliseconds", (_w, ms) => ms],
];

const TIMESTAMP = objectType(TimestampSchema);

export const TIME_FUNCS = ACCESSORS.flatMap(([name, f]) => [
  celMethod(name, TIMESTAMP, [], CelScalar.INT, function () {
    const { w, ms } = wall(this.message as Timestamp, undefined);
    return BigInt(f(w, ms));
  }),
  celMethod(name, TIMESTAMP, [CelScalar.STRING], CelScalar.INT, function (tz: string) {
    const { w, ms } = wall(this.message as Timestamp, tz);
    return BigInt(f(w, ms));
  }),
]);
