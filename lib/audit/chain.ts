// Hash chain over an audit stream: hash = HMAC-SHA256(chain key, prevHash + "\n" + canonical JSON
// of the record). Appends lock the stream's head row, so the chain is linear even with concurrent
// writers. The key comes from configuration, never from the database: whoever can write the
// database but not read the configuration cannot recompute the chain after changing a record.
// Records written before chains were keyed hash with plain SHA-256 (`legacyChainHashText`); verify
// accepts them only as a prefix of a stream.
import { createHash, createHmac, createSecretKey, hkdfSync, type KeyObject } from "node:crypto";

export type Stream = "admin_activity" | "data_access";
export const STREAMS: readonly Stream[] = ["admin_activity", "data_access"];

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

/** KeyObjects, not Buffers: an HMAC with a KeyObject costs half as much (one per decision record). */
export interface AuditKeys {
  /** Keys the records' chain. */
  chain: KeyObject;
  /** Signs checkpoints (lib/audit/checkpoints.ts). */
  checkpoint: KeyObject;
}

/**
 * The audit keys from key material: GATEHOUSE_AUDIT_KEY when set, else AUTH_SECRET (lib/env.ts
 * `auditKeyMaterial`). HKDF gives each use its own key, so a chain hash is never a valid
 * checkpoint signature and neither reveals the material.
 */
export function deriveAuditKeys(material: string): AuditKeys {
  const derive = (info: string) => createSecretKey(Buffer.from(hkdfSync("sha256", material, "gatehouse-audit", info, 32)));
  return { chain: derive("chain v1"), checkpoint: derive("checkpoint v1") };
}

let keys: AuditKeys | undefined;

/** Sets this process's audit keys (the server and the CLI, at start-up, from validated configuration). */
export function setAuditKeyMaterial(material: string): void {
  keys = deriveAuditKeys(material);
}

/**
 * This process's audit keys. Unset: derived from GATEHOUSE_AUDIT_KEY or AUTH_SECRET in the
 * environment (as the server resolves them); neither set is a configuration error — an audit
 * record is never written on an unkeyed chain.
 */
export function auditKeys(): AuditKeys {
  if (!keys) {
    const material = process.env.GATEHOUSE_AUDIT_KEY || process.env.AUTH_SECRET;
    if (!material) throw new Error("no audit key: set GATEHOUSE_AUDIT_KEY (or AUTH_SECRET)");
    keys = deriveAuditKeys(material);
  }
  return keys;
}

export function chainHash(prevHash: string, record: unknown): string {
  return chainHashText(prevHash, canonicalJson(record));
}

/** chainHash for a record already in canonical form. */
export function chainHashText(prevHash: string, canonical: string, key: KeyObject = auditKeys().chain): string {
  return createHmac("sha256", key).update(`${prevHash}\n${canonical}`).digest("hex");
}

/** The unkeyed hash of records written before chains were keyed. */
export function legacyChainHashText(prevHash: string, canonical: string): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}
