// Proxy credentials (DESIGN.md §2): random secrets shown once and stored as SHA-256 (256 bits of
// entropy: a slow hash adds nothing; lookup by hash is a unique-index hit). Instance-wide:
// managing them needs gatehouse.proxyKeys.* on every organization (or instance ownership).
// They travel on the change feed like any other change, so a revocation reaches every instance
// within a sync.
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import type { AdminContext } from "./context";
import { runMutation } from "./mutation";
import { parse } from "./validation";
import { decodePageToken, pageOf, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";

export const PROXY_KEY_PREFIX = "ghpk_";

export function hashProxySecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Headers Gatehouse reads with another meaning; a region header cannot be one of them. */
const RESERVED_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "host",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-uri",
  "x-forwarded-method",
  "x-original-uri",
  "x-original-method",
  "x-gatehouse-proxy-key",
]);

export const ZCreateProxyKey = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, "a proxy key name is 1–63 letters, digits, dots, dashes or underscores"),
  /** Trusted proxies may assert principals themselves, ask what-if questions and see explanations. */
  trusted: z.boolean().default(false),
  /** Resource-name prefixes this proxy may ask about (empty: all). */
  scopes: z.array(z.string().min(1).max(1024)).max(100).default([]),
  /**
   * The header in which this proxy reports the client's region (set by the proxy from its GeoIP
   * or CDN, never passed through from the client); unset: no region from this proxy.
   */
  regionHeader: z
    .string()
    .transform((h) => h.toLowerCase())
    .pipe(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a header name").refine((h) => !RESERVED_HEADERS.has(h), "a header the proxy sets itself, not one Gatehouse reads for something else"))
    .optional(),
});
export type CreateProxyKeyInput = z.input<typeof ZCreateProxyKey>;

export const ZProxyKey = z.object({
  id: z.string(),
  name: z.string(),
  /** The secret's first characters, to recognise it. */
  prefix: z.string(),
  trusted: z.boolean(),
  scopes: z.array(z.string()),
  regionHeader: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ProxyKey = z.infer<typeof ZProxyKey>;

const select = { id: true, name: true, prefix: true, trusted: true, scopes: true, regionHeader: true, createdBy: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

function toJson(r: { id: string; name: string; prefix: string; trusted: boolean; scopes: string[]; regionHeader: string | null; createdBy: string; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null }): ProxyKey {
  return { ...r, createdAt: r.createdAt.toISOString(), lastUsedAt: r.lastUsedAt?.toISOString() ?? null, revokedAt: r.revokedAt?.toISOString() ?? null };
}

/** Creates a credential; its secret is in the answer and nowhere else, ever. */
export async function createProxyKey(ctx: AdminContext, input: unknown): Promise<{ key: ProxyKey; secret: string; revision: bigint | null }> {
  const data = parse(ZCreateProxyKey, input);
  const secret = PROXY_KEY_PREFIX + randomBytes(32).toString("base64url");
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("gatehouse.proxyKeys.create");
    if (await m.tx.proxyCredential.findUnique({ where: { name: data.name }, select: { id: true } })) {
      throw new AppError("ALREADY_EXISTS", `a proxy key named "${data.name}" already exists`);
    }
    const row = await m.tx.proxyCredential.create({
      data: {
        name: data.name,
        prefix: secret.slice(0, PROXY_KEY_PREFIX.length + 6),
        secretHash: hashProxySecret(secret),
        trusted: data.trusted,
        scopes: data.scopes,
        regionHeader: data.regionHeader ?? null,
        createdBy: m.actor.kind === "system" ? m.actor.name : m.actor.principal,
      },
      select,
    });
    m.changed({ kind: "proxyCredential", key: row.id });
    m.audit({
      methodName: "CreateProxyCredential",
      serviceName: "gatehouse.local",
      resourceName: `proxyCredentials/${row.id}`,
      request: { name: data.name, trusted: data.trusted, scopes: data.scopes, regionHeader: data.regionHeader ?? null },
    });
    return toJson(row);
  });
  return { key: value, secret, revision };
}

export async function listProxyKeys(ctx: AdminContext, query: PageQuery): Promise<{ proxyKeys: ProxyKey[]; nextPageToken?: string }> {
  reader(ctx).requireInstance("gatehouse.proxyKeys.list");
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.proxyCredential.findMany({
    where: { name: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) } },
    orderBy: { name: "asc" },
    take: query.pageSize + 1,
    select,
  });
  const page = pageOf(rows, query.pageSize, (r) => r.name);
  return { proxyKeys: page.items.map(toJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

/** Revokes a credential (kept, with its revocation time, for the audit trail). */
export async function revokeProxyKey(ctx: AdminContext, name: string): Promise<{ key: ProxyKey; revision: bigint | null }> {
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("gatehouse.proxyKeys.delete");
    const row = await m.tx.proxyCredential.findUnique({ where: { name }, select: { id: true, revokedAt: true } });
    if (!row) throw new AppError("NOT_FOUND", `no proxy key named "${name}"`);
    if (row.revokedAt) throw new AppError("FAILED_PRECONDITION", `proxy key "${name}" is already revoked`);
    const updated = await m.tx.proxyCredential.update({ where: { id: row.id }, data: { revokedAt: new Date() }, select });
    m.changed({ kind: "proxyCredential", key: row.id });
    m.audit({ methodName: "RevokeProxyCredential", serviceName: "gatehouse.local", resourceName: `proxyCredentials/${row.id}`, request: { name } });
    return toJson(updated);
  });
  return { key: value, revision };
}

export const proxyKeyRoutes = [
  route({
    method: "GET",
    path: "/api/v1/proxyKeys",
    tag: "Proxy credentials",
    summary: "List proxy credentials (secrets are never shown again)",
    query: ZPageQuery,
    response: z.object({ proxyKeys: z.array(ZProxyKey), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listProxyKeys(admin, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/proxyKeys",
    tag: "Proxy credentials",
    summary: "Create a proxy credential; the answer holds its secret, shown this once",
    body: ZCreateProxyKey,
    response: z.object({ proxyKey: ZProxyKey, secret: z.string() }),
    handler: async (admin, req) => {
      const { key, secret, revision } = await createProxyKey(admin, req.body);
      return { status: 201, body: { proxyKey: key, secret }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/proxyKeys/{name}",
    tag: "Proxy credentials",
    summary: "Revoke a proxy credential (every instance stops accepting it within a sync)",
    response: z.object({ proxyKey: ZProxyKey }),
    handler: async (admin, req) => {
      const { key, revision } = await revokeProxyKey(admin, req.params.name!);
      return { body: { proxyKey: key }, headers: revisionHeader(revision) };
    },
  }),
];
