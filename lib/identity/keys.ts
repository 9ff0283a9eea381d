// Gatehouse's own signing keys (ES256): the key that signs the IAP assertion
// (x-goog-iap-jwt-assertion) and the ID tokens of the token endpoint and the CLI.
//
// Storage: one SigningKey row per key; the public JWK in clear, the private JWK sealed with
// AES-256-GCM under a key derived from AUTH_SECRET (secret-box.ts). Private parts never leave
// the server: they are decrypted into non-extractable CryptoKeys held by the in-memory KeyRing.
//
// Lifecycle (every transition is a point in time written on the row, so every instance computes
// the same answer from the same rows, whether or not its last refresh saw the transition):
//
//   NEXT     published in the JWKS, not signing. `activatedAt` is the SCHEDULED activation:
//            publication + PROPAGATION_DELAY_MS, so every verifier's cached JWKS (max-age
//            JWKS_MAX_AGE_SEC) and every instance's ring (refreshed every KEY_REFRESH_INTERVAL_MS)
//            knows the key before any token is signed with it.
//   ACTIVE   signing (exactly one: the key with the latest activatedAt ≤ now).
//   RETIRED  no longer signing since `retiredAt` (= its successor's activation); still published
//            until `expiresAt` = retiredAt + MAX_TOKEN_LIFETIME_SEC + RETIREMENT_GRACE_MS, i.e. until
//            every token it signed has expired; then the row is deleted.
//
// INVARIANTS (tested in keys.int.test.ts):
//   - the kid that signs at time t is in the JWKS served at t − JWKS_MAX_AGE_SEC (no cache gap);
//   - a kid stays in the JWKS until every token it signed has expired (no verification gap).
//
// Transitions are applied by advanceKeys (taking a PostgreSQL advisory lock, so concurrent
// instances and the CLI never race), which KeyRing.load/refresh call when one is due. A database
// with no signing key gets one at start-up (bootstrap), idempotently.
//
// NOTE: MAX_TOKEN_LIFETIME_SEC is one hour, not the assertion's ten minutes: the same keys sign
// the one-hour ID tokens of the token endpoint and the CLI (DESIGN.md §2, §6).
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { recordAdminActivity } from "@/lib/audit/admin";
import { SecretBox, SecretBoxError } from "./secret-box";

export const SIGNING_ALG = "ES256";
/** Lifetime of the signed header (IAP: ≤ 10 min). */
export const ASSERTION_LIFETIME_SEC = 600;
/** Path appended to GATEHOUSE_PUBLIC_URL to form the assertion's `iss` (as IAP's "https://cloud.google.com/iap"). */
export const ASSERTION_ISSUER_PATH = "/iap";

/** The IAP assertion's issuer for a Gatehouse whose public URL (ID-token issuer) is `issuer`. */
export function assertionIssuerFor(issuer: string): string {
  return issuer.replace(/\/$/, "") + ASSERTION_ISSUER_PATH;
}
/** Lifetime of ID tokens from the token endpoint and the CLI (GCP: 1 h). */
export const ID_TOKEN_LIFETIME_SEC = 3600;
/** The longest lifetime of anything signed with a signing key. */
export const MAX_TOKEN_LIFETIME_SEC = Math.max(ASSERTION_LIFETIME_SEC, ID_TOKEN_LIFETIME_SEC);
/** How long verifiers may cache the JWKS (serve it with JWKS_CACHE_CONTROL). */
export const JWKS_MAX_AGE_SEC = 300;
export const JWKS_CACHE_CONTROL = `public, max-age=${JWKS_MAX_AGE_SEC}`;
/** How often each instance should call KeyRing.refresh (KeyRing.follow does). */
export const KEY_REFRESH_INTERVAL_MS = 30_000;
/** Publication → activation of a NEXT key: JWKS caches expire and every instance has refreshed (twice). */
export const PROPAGATION_DELAY_MS = JWKS_MAX_AGE_SEC * 1000 + 2 * KEY_REFRESH_INTERVAL_MS;
/** Beyond the longest token lifetime: verifier clock skew (30 s) and instances that refresh late. */
export const RETIREMENT_GRACE_MS = 5 * 60_000;
/** Retirement → removal from the JWKS. */
export const RETIRED_RETENTION_MS = MAX_TOKEN_LIFETIME_SEC * 1000 + RETIREMENT_GRACE_MS;

const SECRET_PURPOSE = "signing-key";
const SYSTEM_ACTOR = "system:gatehouse";
/** pg_advisory_xact_lock key of the signing-key table ("gatehouse.keys" as a 63-bit number). */
const ADVISORY_LOCK = 0x67617465686f7573n;

export type KeyState = "NEXT" | "ACTIVE" | "RETIRED";

/** A signing key as stored, without its private part. */
export interface SigningKeyInfo {
  kid: string;
  state: KeyState;
  createdAt: Date;
  /** ACTIVE/RETIRED: when it started signing. NEXT: when it is scheduled to. */
  activatedAt: Date | null;
  retiredAt: Date | null;
  /** When it leaves the JWKS. */
  expiresAt: Date | null;
}

interface KeyRow extends SigningKeyInfo {
  publicJwk: JWK;
}

const PUBLIC_COLUMNS = {
  kid: true,
  state: true,
  publicJwk: true,
  createdAt: true,
  activatedAt: true,
  retiredAt: true,
  expiresAt: true,
} as const;

type Tx = Prisma.TransactionClient;

function toMs(now: Date | number | undefined): number {
  return now === undefined ? Date.now() : typeof now === "number" ? now : now.getTime();
}

function aadFor(kid: string): string {
  return `signing-key:${kid}`;
}

/** Opens the sealed private JWK of a key (throws SecretBoxError under another AUTH_SECRET). */
function openPrivateJwk(box: SecretBox, kid: string, sealed: string): JWK {
  return JSON.parse(box.open(sealed, aadFor(kid))) as JWK;
}

// ————————————————————————————————————————————————————————————— timeline (pure)

interface Timeline {
  kid: string;
  /** When it signs from (null: never scheduled). */
  activatesAt: number | null;
  /** When it stops signing (null: not superseded). */
  retiresAt: number | null;
  /** When it leaves the JWKS (null: not scheduled). */
  unpublishAt: number | null;
}

/**
 * The schedule of every key, from the rows alone. Retirement and removal not yet written to a
 * row (advanceKeys has not run since) are derived: a key retires when a later key activates.
 */
function timelines(rows: readonly Pick<SigningKeyInfo, "kid" | "activatedAt" | "retiredAt" | "expiresAt">[]): Timeline[] {
  const starts = rows
    .filter((r) => r.activatedAt)
    .map((r) => ({ kid: r.kid, at: r.activatedAt!.getTime() }))
    .sort((a, b) => a.at - b.at || (a.kid < b.kid ? -1 : 1));
  return rows.map((r) => {
    const activatesAt = r.activatedAt?.getTime() ?? null;
    let retiresAt = r.retiredAt?.getTime() ?? null;
    if (retiresAt === null && activatesAt !== null) {
      const i = starts.findIndex((s) => s.kid === r.kid);
      retiresAt = starts[i + 1]?.at ?? null;
    }
    const unpublishAt = r.expiresAt?.getTime() ?? (retiresAt === null ? null : retiresAt + RETIRED_RETENTION_MS);
    return { kid: r.kid, activatesAt, retiresAt, unpublishAt };
  });
}

function signingAt(tl: readonly Timeline[], t: number): Timeline | null {
  let best: Timeline | null = null;
  for (const k of tl) {
    if (k.activatesAt === null || k.activatesAt > t) continue;
    if (k.retiresAt !== null && k.retiresAt <= t) continue;
    if (!best || k.activatesAt > best.activatesAt! || (k.activatesAt === best.activatesAt && k.kid > best.kid)) best = k;
  }
  return best;
}

function publishedAt(k: Timeline, t: number): boolean {
  return k.unpublishAt === null || k.unpublishAt > t;
}

/** The next instant after t at which the signing key or the published set changes. */
function nextBoundary(tl: readonly Timeline[], t: number): number {
  let next = Infinity;
  for (const k of tl) for (const at of [k.activatesAt, k.retiresAt, k.unpublishAt]) if (at !== null && at > t && at < next) next = at;
  return next;
}

// ————————————————————————————————————————————————————————————— database operations

async function lock(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK})`;
}

async function readRows(tx: Tx | Db): Promise<KeyRow[]> {
  const rows = await tx.signingKey.findMany({ select: PUBLIC_COLUMNS, orderBy: { createdAt: "asc" } });
  return rows.map((r) => ({ ...r, publicJwk: r.publicJwk as JWK }));
}

/** A fresh ES256 key pair: kid = RFC 7638 SHA-256 thumbprint of the public key. */
async function generateSigningKey(box: SecretBox): Promise<{ kid: string; publicJwk: JWK; sealed: string }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, "sha256");
  const publicJwk: JWK = { ...pub, kid, alg: SIGNING_ALG, use: "sig" };
  const priv = await exportJWK(privateKey);
  return { kid, publicJwk, sealed: box.seal(JSON.stringify({ ...priv, kid, alg: SIGNING_ALG }), aadFor(kid)) };
}

async function insertKey(tx: Tx, box: SecretBox, state: KeyState, now: number, activatesAt: number): Promise<string> {
  const k = await generateSigningKey(box);
  await tx.signingKey.create({
    data: {
      kid: k.kid,
      algorithm: SIGNING_ALG,
      state,
      publicJwk: k.publicJwk as Prisma.InputJsonValue,
      privateJwk: k.sealed,
      createdAt: new Date(now),
      activatedAt: new Date(activatesAt),
    },
  });
  return k.kid;
}

export interface AdvanceResult {
  /** Created because no key could sign (bootstrap). */
  created: string | null;
  activated: string[];
  retired: string[];
  /** Past expiresAt: removed from the JWKS and deleted. */
  deleted: string[];
}

/** Applies due transitions inside `tx` (which holds the advisory lock). */
async function advanceLocked(tx: Tx, box: SecretBox, now: number): Promise<AdvanceResult> {
  const result: AdvanceResult = { created: null, activated: [], retired: [], deleted: [] };
  const rows = await readRows(tx);
  const tl = new Map(timelines(rows).map((t) => [t.kid, t]));
  for (const r of rows) {
    const t = tl.get(r.kid)!;
    if (t.unpublishAt !== null && t.unpublishAt <= now) {
      await tx.signingKey.delete({ where: { kid: r.kid } });
      result.deleted.push(r.kid);
    } else if (t.retiresAt !== null && t.retiresAt <= now) {
      if (r.state !== "RETIRED" || !r.retiredAt || !r.expiresAt) {
        await tx.signingKey.update({
          where: { kid: r.kid },
          data: { state: "RETIRED", retiredAt: new Date(t.retiresAt), expiresAt: new Date(t.unpublishAt!) },
        });
        result.retired.push(r.kid);
      }
    } else if (t.activatesAt !== null && t.activatesAt <= now && r.state !== "ACTIVE") {
      await tx.signingKey.update({ where: { kid: r.kid }, data: { state: "ACTIVE" } });
      result.activated.push(r.kid);
    }
  }
  if (!signingAt([...tl.values()], now)) {
    // Bootstrap (or every key was removed): a key that signs at once. Nothing can have been
    // signed by it, so there is no cache to wait for.
    result.created = await insertKey(tx, box, "ACTIVE", now, now);
    await recordAdminActivity(tx, [
      {
        actor: SYSTEM_ACTOR,
        methodName: "CreateSigningKey",
        serviceName: "gatehouse.local",
        resourceName: `signingKeys/${result.created}`,
        request: { reason: "no signing key" },
      },
    ]);
  }
  return result;
}

function dueAt(rows: readonly KeyRow[], now: number): boolean {
  const tl = timelines(rows);
  if (!signingAt(tl, now)) return true;
  return rows.some((r, i) => {
    const t = tl[i]!;
    if (t.unpublishAt !== null && t.unpublishAt <= now) return true;
    if (t.retiresAt !== null && t.retiresAt <= now) return r.state !== "RETIRED" || !r.retiredAt || !r.expiresAt;
    return t.activatesAt !== null && t.activatesAt <= now && r.state !== "ACTIVE";
  });
}

/**
 * Brings the stored states up to date at `now` (NEXT→ACTIVE, ACTIVE→RETIRED, expired RETIRED
 * deleted) and creates an ACTIVE key if none can sign. Idempotent; concurrent callers serialise
 * on an advisory lock. Bootstrap is audited (CreateSigningKey by system:gatehouse).
 */
export async function advanceKeys(db: Db, opts: { secret: string; now?: Date | number }): Promise<AdvanceResult> {
  return advance(db, new SecretBox(opts.secret, SECRET_PURPOSE), toMs(opts.now));
}

async function advance(db: Db, box: SecretBox, now: number): Promise<AdvanceResult> {
  return db.$transaction(async (tx) => {
    await lock(tx);
    return advanceLocked(tx, box, now);
  });
}

export interface RotateResult {
  /** The key that will sign (NEXT, or ACTIVE when immediate). */
  kid: string;
  activatesAt: Date;
  /** False when a rotation was already under way and this call changed nothing. */
  started: boolean;
  /** The key that signed when the rotation started (it retires when `kid` activates). */
  retiring: string | null;
  keys: SigningKeyInfo[];
}

/**
 * Starts a rotation inside `tx` (the caller's transaction: lib/admin/signing-keys.ts runs it as
 * an admin mutation, which authorises and records it): publishes a NEXT key that signs from
 * now + PROPAGATION_DELAY_MS; the current key retires then and leaves the JWKS
 * RETIRED_RETENTION_MS later. With a rotation already pending, nothing changes (unless
 * `immediate`). Serialised with every other key transition by the signing keys' advisory lock.
 *
 * `immediate`: the new (or pending) key signs from `now`. Verifiers that cached the JWKS before
 * see an unknown kid until they refetch (jose's remote JWKS refetches on an unknown kid after a
 * 30 s cooldown): meant for tests and for emergencies.
 *
 * `secretChanged`: AUTH_SECRET was changed and the stored keys cannot be decrypted any more;
 * creates a key under the new secret and activates it immediately. Without it, a rotation under
 * a secret that cannot open the active key is refused (it would install a key the servers
 * cannot use).
 */
export async function rotateKeysLocked(
  tx: Tx,
  opts: { secret: string; now?: Date | number; immediate?: boolean; secretChanged?: boolean },
): Promise<RotateResult> {
  const box = new SecretBox(opts.secret, SECRET_PURPOSE);
  const now = toMs(opts.now);
  const immediate = Boolean(opts.immediate || opts.secretChanged);
  await lock(tx);
  const first = await advanceLocked(tx, box, now);
  const rows = await readRows(tx);
  const readable = async (kid: string) => {
    const row = await tx.signingKey.findUniqueOrThrow({ where: { kid }, select: { privateJwk: true } });
    try {
      openPrivateJwk(box, kid, row.privateJwk);
      return true;
    } catch (e) {
      if (e instanceof SecretBoxError) return false;
      throw e;
    }
  };
  const current = signingAt(timelines(rows), now)!;
  if (!(await readable(current.kid)) && !opts.secretChanged) {
    throw new AppError(
      "FAILED_PRECONDITION",
      `this AUTH_SECRET cannot decrypt the active signing key ${current.kid}: use the servers' AUTH_SECRET, or, if AUTH_SECRET was changed on purpose, run keys rotate --secret-changed`,
    );
  }
  if (first.created) {
    return { kid: first.created, activatesAt: new Date(now), started: true, retiring: null, keys: (await readRows(tx)).map(info) };
  }
  let kid: string;
  let started = true;
  // Strictly after the current key's activation, so that the newest key always wins.
  const at = immediate ? Math.max(now, current.activatesAt! + 1) : now + PROPAGATION_DELAY_MS;
  const pending = rows.find((r) => r.state === "NEXT" && r.activatedAt && r.activatedAt.getTime() > now);
  if (pending && (await readable(pending.kid))) {
    kid = pending.kid;
    if (immediate) await tx.signingKey.update({ where: { kid }, data: { activatedAt: new Date(at) } });
    else started = false;
  } else {
    // A pending key sealed under another secret was never used: replace it.
    if (pending) await tx.signingKey.delete({ where: { kid: pending.kid } });
    kid = await insertKey(tx, box, "NEXT", now, at);
  }
  if (immediate) await advanceLocked(tx, box, at);
  const keys = (await readRows(tx)).map(info);
  const activatesAt = keys.find((k) => k.kid === kid)!.activatedAt!;
  return { kid, activatesAt, started, retiring: current.kid, keys };
}

function info(r: KeyRow): SigningKeyInfo {
  return { kid: r.kid, state: r.state, createdAt: r.createdAt, activatedAt: r.activatedAt, retiredAt: r.retiredAt, expiresAt: r.expiresAt };
}

/** Every stored key with its public JWK, oldest first (never a private part). */
export async function findSigningKeysWithPublicJwk(db: Db): Promise<(SigningKeyInfo & { publicJwk: JWK })[]> {
  return (await readRows(db)).map((r) => ({ ...info(r), publicJwk: r.publicJwk }));
}

/** Every stored key, oldest first, without private parts. */
export async function findSigningKeys(db: Db): Promise<SigningKeyInfo[]> {
  return (await readRows(db)).map(info);
}

// ————————————————————————————————————————————————————————————— the in-memory ring

interface LoadedKey {
  row: KeyRow;
  /** Null when the sealed private key cannot be opened with this process's AUTH_SECRET. */
  privateKey: CryptoKey | null;
}

interface View {
  /** The view holds for t in [from, until). */
  from: number;
  until: number;
  signer: LoadedKey | null;
  jwks: { keys: JWK[] };
  jwksJson: string;
  keySet: JWTVerifyGetKey;
}

export interface KeyRingStatus {
  signingKid: string | null;
  publishedKids: string[];
  /** Keys whose private part this process cannot decrypt (AUTH_SECRET differs from the one that sealed them). */
  undecryptableKids: string[];
  loadedAt: Date | null;
}

/**
 * The signing keys of this process, held in memory: signs without touching the database and
 * serves the JWKS. `load` once at start-up, then `refresh` periodically (`follow` does) — a
 * refresh is one small SELECT unless a key was added or a transition is due.
 */
export class KeyRing {
  /** `iss` of the ID tokens this ring signs (GATEHOUSE_PUBLIC_URL). */
  readonly issuer: string;
  /**
   * `iss` of the IAP assertion (GATEHOUSE_PUBLIC_URL + "/iap"): a different issuer from the ID
   * tokens', so that a backend verifying the assertion never accepts an ID token (which anyone
   * holding a service-account key can mint for any audience), and so that Gatehouse itself never
   * accepts an assertion as a credential (lib/identity/verify.ts).
   */
  readonly assertionIssuer: string;
  readonly #box: SecretBox;
  #keys = new Map<string, LoadedKey>();
  #view: View | null = null;
  #loadedAt: number | null = null;

  constructor(opts: { issuer: string; secret: string }) {
    this.issuer = opts.issuer.replace(/\/$/, "");
    this.assertionIssuer = assertionIssuerFor(this.issuer);
    this.#box = new SecretBox(opts.secret, SECRET_PURPOSE);
  }

  /**
   * A ring with one fresh key that is never stored: for tools and benchmarks that need a signer
   * without a database. Its tokens verify only against its own jwks().
   */
  static async ephemeral(opts: { issuer: string; now?: Date | number }): Promise<KeyRing> {
    const ring = new KeyRing({ issuer: opts.issuer, secret: "ephemeral-ring-has-no-stored-keys-000000" });
    const now = toMs(opts.now);
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG);
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub, "sha256");
    const row: KeyRow = {
      kid,
      state: "ACTIVE",
      publicJwk: { ...pub, kid, alg: SIGNING_ALG, use: "sig" },
      createdAt: new Date(now),
      activatedAt: new Date(now),
      retiredAt: null,
      expiresAt: null,
    };
    ring.#keys.set(kid, { row, privateKey });
    ring.#loadedAt = now;
    return ring;
  }

  /** Start-up: applies due transitions (creating a first key if there is none), then loads. */
  async load(db: Db, now?: Date | number): Promise<void> {
    await advance(db, this.#box, toMs(now));
    await this.refresh(db, now);
  }

  /**
   * Re-reads the key rows (public columns only; private keys only for kids not yet loaded) and
   * applies due transitions. Returns true when the set of keys or their schedule changed.
   */
  async refresh(db: Db, now?: Date | number): Promise<boolean> {
    const t = toMs(now);
    let rows = await readRows(db);
    if (dueAt(rows, t)) {
      await advance(db, this.#box, t);
      rows = await readRows(db);
    }
    const missing = rows.filter((r) => !this.#keys.has(r.kid)).map((r) => r.kid);
    const sealed = missing.length
      ? await db.signingKey.findMany({ where: { kid: { in: missing } }, select: { kid: true, privateJwk: true } })
      : [];
    const next = new Map<string, LoadedKey>();
    let changed = rows.length !== this.#keys.size;
    for (const row of rows) {
      const old = this.#keys.get(row.kid);
      if (old) {
        if (!sameSchedule(old.row, row)) changed = true;
        next.set(row.kid, { row, privateKey: old.privateKey });
        continue;
      }
      changed = true;
      const s = sealed.find((x) => x.kid === row.kid);
      next.set(row.kid, { row, privateKey: s ? await this.#importPrivate(row.kid, s.privateJwk) : null });
    }
    this.#keys = next;
    this.#loadedAt = t;
    if (changed) this.#view = null;
    return changed;
  }

  /**
   * Refreshes every `intervalMs` (default KEY_REFRESH_INTERVAL_MS) until the returned function
   * is called. The timer does not keep the process alive. Errors (database away) go to onError;
   * the ring keeps signing with what it has.
   */
  follow(db: Db, opts: { intervalMs?: number; onError?: (e: unknown) => void } = {}): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.refresh(db)
        .catch((e: unknown) => opts.onError?.(e))
        .finally(() => (running = false));
    }, opts.intervalMs ?? KEY_REFRESH_INTERVAL_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The public JWKS: `{ keys: [{ kty, crv, x, y, kid, alg: "ES256", use: "sig" }] }`. */
  jwks(now?: Date | number): { keys: JWK[] } {
    return this.#viewAt(toMs(now)).jwks;
  }

  /** jwks() serialised once per change: the body of GET /.well-known/jwks.json. */
  jwksJson(now?: Date | number): string {
    return this.#viewAt(toMs(now)).jwksJson;
  }

  /** A jose key resolver over the published keys (for verifying Gatehouse's own tokens locally). */
  keySet(now?: Date | number): JWTVerifyGetKey {
    return this.#viewAt(toMs(now)).keySet;
  }

  /** The kid that signs at `now` (null before the first load). */
  signingKid(now?: Date | number): string | null {
    return this.#viewAt(toMs(now)).signer?.row.kid ?? null;
  }

  status(now?: Date | number): KeyRingStatus {
    const v = this.#viewAt(toMs(now));
    return {
      signingKid: v.signer?.row.kid ?? null,
      publishedKids: v.jwks.keys.map((k) => k.kid!),
      undecryptableKids: [...this.#keys.values()].filter((k) => !k.privateKey).map((k) => k.row.kid),
      loadedAt: this.#loadedAt === null ? null : new Date(this.#loadedAt),
    };
  }

  /**
   * Signs `claims` as a JWT: header { alg: ES256, kid, typ: JWT }; `iss` (this.issuer, or
   * this.assertionIssuer for `kind: "assertion"`), `aud`, `iat` and `exp` (iat + lifetimeSec) are
   * set here and override same-named claims.
   * Throws AppError UNAVAILABLE when no key can sign (not loaded, or AUTH_SECRET mismatch).
   */
  async sign(
    claims: JWTPayload,
    opts: { audience: string | string[]; lifetimeSec: number; now?: Date | number; kind?: "id_token" | "assertion" },
  ): Promise<string> {
    if (!(opts.lifetimeSec > 0 && opts.lifetimeSec <= MAX_TOKEN_LIFETIME_SEC)) {
      throw new AppError("INVALID_ARGUMENT", `token lifetime must be 1–${MAX_TOKEN_LIFETIME_SEC} s`);
    }
    const now = toMs(opts.now);
    const signer = this.#viewAt(now).signer;
    if (!signer) throw new AppError("UNAVAILABLE", "no signing key is loaded");
    if (!signer.privateKey) {
      throw new AppError(
        "UNAVAILABLE",
        `signing key ${signer.row.kid} cannot be decrypted with this AUTH_SECRET; if AUTH_SECRET was changed, run keys rotate --secret-changed`,
      );
    }
    const iat = Math.floor(now / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, kid: signer.row.kid, typ: "JWT" })
      .setIssuer(opts.kind === "assertion" ? this.assertionIssuer : this.issuer)
      .setAudience(opts.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + opts.lifetimeSec)
      .sign(signer.privateKey);
  }

  async #importPrivate(kid: string, sealed: string): Promise<CryptoKey | null> {
    try {
      return (await importJWK(openPrivateJwk(this.#box, kid, sealed), SIGNING_ALG, { extractable: false })) as CryptoKey;
    } catch (e) {
      if (e instanceof SecretBoxError) return null;
      throw e;
    }
  }

  #viewAt(t: number): View {
    const v = this.#view;
    if (v && t >= v.from && t < v.until) return v;
    const loaded = [...this.#keys.values()];
    const tl = timelines(loaded.map((k) => k.row));
    const signerTl = signingAt(tl, t);
    const keys = tl
      .filter((k) => publishedAt(k, t))
      .map((k) => this.#keys.get(k.kid)!.row.publicJwk)
      .sort((a, b) => (a.kid! < b.kid! ? -1 : 1));
    const jwks = { keys };
    // Only instants where something changes end a view; going back in time (tests) rebuilds it.
    const view: View = {
      from: t,
      until: nextBoundary(tl, t),
      signer: signerTl ? this.#keys.get(signerTl.kid)! : null,
      jwks,
      jwksJson: JSON.stringify(jwks),
      keySet: createLocalJWKSet(jwks),
    };
    this.#view = view;
    return view;
  }
}

function sameSchedule(a: KeyRow, b: KeyRow): boolean {
  const same = (x: Date | null, y: Date | null) => (x?.getTime() ?? null) === (y?.getTime() ?? null);
  return a.state === b.state && same(a.activatedAt, b.activatedAt) && same(a.retiredAt, b.retiredAt) && same(a.expiresAt, b.expiresAt);
}

/** Human-readable lines for `keys rotate` / `keys list`. */
export function describeSigningKeys(keys: readonly SigningKeyInfo[], now: Date | number = Date.now()): string[] {
  const t = toMs(now);
  const iso = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : "—");
  return keys.map((k) => {
    const when =
      k.state === "NEXT"
        ? `published, signs from ${iso(k.activatedAt)}`
        : k.state === "ACTIVE"
          ? `signing since ${iso(k.activatedAt)}`
          : `retired ${iso(k.retiredAt)}, in the JWKS until ${iso(k.expiresAt)}`;
    const due = k.state === "NEXT" && k.activatedAt && k.activatedAt.getTime() <= t ? " (due: applied at the next refresh)" : "";
    return `${k.kid}  ${k.state.padEnd(7)}  ${when}${due}`;
  });
}
