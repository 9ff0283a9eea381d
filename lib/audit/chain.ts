// Hash chain over an audit stream: hash = sha256(prevHash + "\n" + canonical JSON of the record).
// Appends lock the stream's head row, so the chain is linear even with concurrent writers.
import { createHash } from "node:crypto";

export type Stream = "admin_activity" | "data_access";

/**
 * JSON with object keys sorted (by UTF-16 code units, as `<` compares; array-index keys such as
 * "0" first, see keyOrder), bigint and Date rendered
 * as strings, so that hashing is stable across reads. Otherwise exactly `JSON.stringify`:
 * undefined, functions and symbols are dropped from objects and become null in arrays, and
 * non-finite numbers become null. Written out by hand because it runs once per decision record:
 * a sorting replacer allocates a copy of every object (3× slower).
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? "null";
}

function write(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return `"${v.toString()}"`;
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null) return "null";
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? "null" : `"${v.toISOString()}"`;
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += (i ? "," : "") + (write(v[i]) ?? "null");
    return out + "]";
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return write((toJSON as () => unknown).call(v));
  const keys = Object.keys(v).sort(keyOrder);
  let out = "{";
  let first = true;
  for (const k of keys) {
    const s = write((v as Record<string, unknown>)[k]);
    if (s === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(k) + ":" + s;
    first = false;
  }
  return out + "}";
}

/**
 * The order of the keys of an object rebuilt from its sorted entries (the original definition):
 * array-index keys first, numerically (JavaScript enumerates them so), then the rest sorted.
 */
function keyOrder(a: string, b: string): number {
  const ia = isIndex(a);
  const ib = isIndex(b);
  if (ia || ib) return ia && ib ? Number(a) - Number(b) : ia ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  if (!(c >= 48 && c <= 57)) return false; // the common case: not a digit
  return /^(?:0|[1-9]\d{0,9})$/.test(k) && Number(k) < 4294967295;
}

export function chainHash(prevHash: string, record: unknown): string {
  return chainHashText(prevHash, canonicalJson(record));
}

/** chainHash for a record already in canonical form. */
export function chainHashText(prevHash: string, canonical: string): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}
