// Gatehouse's own signing keys through the admin API (DESIGN.md §2: rotated with overlap). The
// rotation itself is lib/identity/keys.ts rotateKeysLocked, run here as an admin mutation:
// authorised (gatehouse.signingKeys.rotate, instance-wide), serialised with the keys' own
// transitions, and recorded. The list shows public parts and states only.
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { findSigningKeysWithPublicJwk, rotateKeysLocked, type SigningKeyInfo } from "@/lib/identity/keys";
import type { AdminContext } from "./context";
import { runMutation } from "./mutation";
import { parse } from "./validation";
import { pageOf, decodePageToken, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";

export const ZRotateSigningKeys = z.strictObject({
  /** The new key signs at once (emergencies): verifiers holding a cached JWKS see an unknown kid until they refetch. */
  immediate: z.boolean().optional(),
  /**
   * AUTH_SECRET was changed on purpose and the stored keys cannot be decrypted: a key under the
   * new secret signs at once. Meaningful where the caller's secret is the servers' (the CLI).
   */
  secretChanged: z.boolean().optional(),
});

export const ZSigningKeyJson = z.object({
  kid: z.string(),
  state: z.enum(["NEXT", "ACTIVE", "RETIRED"]),
  createTime: z.string(),
  /** ACTIVE/RETIRED: when it started signing; NEXT: when it will. */
  activateTime: z.string().nullable(),
  retireTime: z.string().nullable(),
  /** When it leaves the JWKS. */
  expireTime: z.string().nullable(),
  publicJwk: z.record(z.string(), z.unknown()).optional(),
});
export type SigningKeyJson = z.infer<typeof ZSigningKeyJson>;

function keyJson(k: SigningKeyInfo & { publicJwk?: object }): SigningKeyJson {
  return {
    kid: k.kid,
    state: k.state,
    createTime: k.createdAt.toISOString(),
    activateTime: k.activatedAt?.toISOString() ?? null,
    retireTime: k.retiredAt?.toISOString() ?? null,
    expireTime: k.expiresAt?.toISOString() ?? null,
    ...(k.publicJwk ? { publicJwk: k.publicJwk as Record<string, unknown> } : {}),
  };
}

export interface RotateSigningKeysResult {
  kid: string;
  activatesAt: Date;
  /** False when a rotation was already under way and nothing changed. */
  started: boolean;
  keys: SigningKeyInfo[];
  revision: bigint | null;
}

/**
 * Starts a signing-key rotation (see rotateKeysLocked). `opts.now` only for tests that walk the
 * keys' timeline.
 */
export async function rotateSigningKeys(ctx: AdminContext, input: unknown, opts: { now?: Date | number } = {}): Promise<RotateSigningKeysResult> {
  const data = parse(ZRotateSigningKeys, input ?? {});
  if (!ctx.instance) throw new AppError("INTERNAL", "a signing key is sealed with AUTH_SECRET: none was configured for this call");
  const { authSecret } = ctx.instance;
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("gatehouse.signingKeys.rotate");
    const r = await rotateKeysLocked(m.tx, { secret: authSecret, now: opts.now ?? m.now, immediate: data.immediate, secretChanged: data.secretChanged });
    if (r.started) {
      m.audit({
        methodName: "RotateSigningKeys",
        serviceName: "gatehouse.local",
        resourceName: `signingKeys/${r.kid}`,
        request: { immediate: Boolean(data.immediate || data.secretChanged), secretChanged: Boolean(data.secretChanged) },
        response: { kid: r.kid, activatesAt: r.activatesAt.toISOString(), retiring: r.retiring },
      });
    }
    return r;
  });
  return { kid: value.kid, activatesAt: value.activatesAt, started: value.started, keys: value.keys, revision };
}

/** The signing keys, oldest first: public JWKs and states (gatehouse.signingKeys.list, instance-wide). */
export async function listSigningKeys(ctx: AdminContext, query: PageQuery): Promise<{ signingKeys: SigningKeyJson[]; nextPageToken?: string }> {
  reader(ctx).requireInstance("gatehouse.signingKeys.list");
  const after = decodePageToken(query.pageToken);
  const key = (k: { createdAt: Date; kid: string }) => `${k.createdAt.toISOString()} ${k.kid}`;
  const all = (await findSigningKeysWithPublicJwk(ctx.db)).filter((k) => (after === undefined || key(k) > after) && (!query.filter || k.kid.toLowerCase().includes(query.filter.toLowerCase())));
  all.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const page = pageOf(all.slice(0, query.pageSize + 1), query.pageSize, key);
  return { signingKeys: page.items.map(keyJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

const TAG = "Signing keys";

export const signingKeyRoutes = [
  route({
    method: "GET",
    path: "/api/v1/signingKeys",
    tag: TAG,
    summary: "List Gatehouse's signing keys: public JWKs and states (NEXT, ACTIVE, RETIRED)",
    query: ZPageQuery,
    response: z.object({ signingKeys: z.array(ZSigningKeyJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listSigningKeys(admin, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/signingKeys:rotate",
    tag: TAG,
    summary: "Start a signing-key rotation (the next key is published now and signs once every JWKS cache has seen it; `immediate` for emergencies)",
    body: ZRotateSigningKeys.omit({ secretChanged: true }),
    response: z.object({ kid: z.string(), activateTime: z.string(), started: z.boolean(), signingKeys: z.array(ZSigningKeyJson) }),
    handler: async (admin, req) => {
      const r = await rotateSigningKeys(admin, req.body);
      return { body: { kid: r.kid, activateTime: r.activatesAt.toISOString(), started: r.started, signingKeys: r.keys.map(keyJson) }, headers: revisionHeader(r.revision) };
    },
  }),
];
