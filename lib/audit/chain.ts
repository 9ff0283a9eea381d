// Hash chain over an audit stream: hash = sha256(prevHash + "\n" + canonical JSON of the record).
// Appends lock the stream's head row, so the chain is linear even with concurrent writers.
import { createHash } from "node:crypto";

export type Stream = "admin_activity" | "data_access";

/** JSON with sorted keys; bigint and Date rendered as strings, so hashing is stable across reads. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Date) return v.toISOString();
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export function chainHash(prevHash: string, record: unknown): string {
  return chainHashText(prevHash, canonicalJson(record));
}

/** chainHash for a record already in canonical form. */
export function chainHashText(prevHash: string, canonical: string): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}
