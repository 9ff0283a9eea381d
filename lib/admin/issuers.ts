// Trusted issuers through the admin API: the external OpenID issuers whose ID tokens identify
// principals (DESIGN.md §2). Instance-wide — an issuer may assert identities of every
// organization's domains it lists — so every method needs gatehouse.trustedIssuers.* on every
// organization (or instance ownership): list (also for get), create, update, delete.
// Validated exactly as the world file validates them (lib/world/schema.ts ZTrustedIssuer: https
// except on loopback, no credentials or query in the URL, at least one email domain). Changes
// travel on the change feed: every instance's token verifier reloads its issuers.
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { ZTrustedIssuer } from "@/lib/world/schema";
import type { AdminContext } from "./context";
import { runMutation } from "./mutation";
import { parse } from "./validation";
import { decodePageToken, pageOf, ZPageQuery, type PageQuery } from "./paging";
import { reader } from "./reader";
import { revisionHeader, route } from "./routes";

const SERVICE = "gatehouse.local";

export const ZCreateTrustedIssuer = ZTrustedIssuer;
/** Every field but the issuer (its identity); those given replace the stored ones. */
export const ZUpdateTrustedIssuer = ZTrustedIssuer.omit({ issuer: true }).partial().extend({
  jwksUri: ZTrustedIssuer.shape.jwksUri.unwrap().nullable().optional(),
});

export const ZTrustedIssuerJson = z.object({
  issuer: z.string(),
  audiences: z.array(z.string()),
  jwksUri: z.string().nullable(),
  domains: z.array(z.string()),
  allowUnverifiedEmails: z.boolean(),
  createTime: z.string(),
  updateTime: z.string(),
});
export type TrustedIssuerJson = z.infer<typeof ZTrustedIssuerJson>;

type Row = { issuer: string; audiences: string[]; jwksUri: string | null; domains: string[]; allowUnverifiedEmails: boolean; createdAt: Date; updatedAt: Date };

function issuerJson(r: Row): TrustedIssuerJson {
  return {
    issuer: r.issuer,
    audiences: r.audiences,
    jwksUri: r.jwksUri,
    domains: r.domains,
    allowUnverifiedEmails: r.allowUnverifiedEmails,
    createTime: r.createdAt.toISOString(),
    updateTime: r.updatedAt.toISOString(),
  };
}

export async function listTrustedIssuers(ctx: AdminContext, query: PageQuery): Promise<{ trustedIssuers: TrustedIssuerJson[]; nextPageToken?: string }> {
  reader(ctx).requireInstance("gatehouse.trustedIssuers.list");
  const after = decodePageToken(query.pageToken);
  const rows = await ctx.db.trustedIssuer.findMany({
    where: { issuer: { ...(after !== undefined ? { gt: after } : {}), ...(query.filter ? { contains: query.filter, mode: "insensitive" as const } : {}) } },
    orderBy: { issuer: "asc" },
    take: query.pageSize + 1,
  });
  const page = pageOf(rows, query.pageSize, (r) => r.issuer);
  return { trustedIssuers: page.items.map(issuerJson), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export async function getTrustedIssuer(ctx: AdminContext, issuer: string): Promise<TrustedIssuerJson> {
  reader(ctx).requireInstance("gatehouse.trustedIssuers.list");
  const row = await ctx.db.trustedIssuer.findUnique({ where: { issuer } });
  if (!row) throw new AppError("NOT_FOUND", `no trusted issuer ${issuer}`);
  return issuerJson(row);
}

export async function createTrustedIssuer(ctx: AdminContext, input: unknown): Promise<{ trustedIssuer: TrustedIssuerJson; revision: bigint | null }> {
  const data = parse(ZCreateTrustedIssuer, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("gatehouse.trustedIssuers.create");
    if (await m.tx.trustedIssuer.findUnique({ where: { issuer: data.issuer }, select: { issuer: true } })) {
      throw new AppError("ALREADY_EXISTS", `${data.issuer} is already a trusted issuer`);
    }
    await m.write.upsertTrustedIssuer(data);
    m.audit({ methodName: "CreateTrustedIssuer", serviceName: SERVICE, resourceName: `trustedIssuers/${data.issuer}`, request: data });
    return issuerJson(await m.tx.trustedIssuer.findUniqueOrThrow({ where: { issuer: data.issuer } }));
  });
  return { trustedIssuer: value, revision };
}

export async function updateTrustedIssuer(ctx: AdminContext, issuer: string, input: unknown): Promise<{ trustedIssuer: TrustedIssuerJson; revision: bigint | null }> {
  const data = parse(ZUpdateTrustedIssuer, input);
  const { value, revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("gatehouse.trustedIssuers.update");
    const row = await m.tx.trustedIssuer.findUnique({ where: { issuer } });
    if (!row) throw new AppError("NOT_FOUND", `no trusted issuer ${issuer}`);
    const before = { issuer: row.issuer, audiences: row.audiences, domains: row.domains, allowUnverifiedEmails: row.allowUnverifiedEmails, ...(row.jwksUri ? { jwksUri: row.jwksUri } : {}) };
    const merged = {
      ...before,
      ...(data.audiences !== undefined ? { audiences: data.audiences } : {}),
      ...(data.domains !== undefined ? { domains: data.domains } : {}),
      ...(data.allowUnverifiedEmails !== undefined ? { allowUnverifiedEmails: data.allowUnverifiedEmails } : {}),
    };
    if (data.jwksUri === null) delete (merged as { jwksUri?: string }).jwksUri;
    else if (data.jwksUri !== undefined) (merged as { jwksUri?: string }).jwksUri = data.jwksUri;
    // The whole issuer, validated as the world file validates it (rows from before a rule, e.g. no domains, must be fixed to be saved).
    const next = parse(ZTrustedIssuer, merged);
    const same =
      JSON.stringify([next.audiences, next.domains, next.jwksUri ?? null, next.allowUnverifiedEmails ?? false]) ===
      JSON.stringify([row.audiences, row.domains, row.jwksUri, row.allowUnverifiedEmails]);
    if (same) return issuerJson(row);
    await m.write.upsertTrustedIssuer(next);
    m.audit({ methodName: "UpdateTrustedIssuer", serviceName: SERVICE, resourceName: `trustedIssuers/${issuer}`, request: data, response: { before } });
    return issuerJson(await m.tx.trustedIssuer.findUniqueOrThrow({ where: { issuer } }));
  });
  return { trustedIssuer: value, revision };
}

export async function deleteTrustedIssuer(ctx: AdminContext, issuer: string): Promise<{ revision: bigint | null }> {
  const { revision } = await runMutation(ctx, async (m) => {
    m.requireInstance("gatehouse.trustedIssuers.delete");
    if (!(await m.tx.trustedIssuer.findUnique({ where: { issuer }, select: { issuer: true } }))) throw new AppError("NOT_FOUND", `no trusted issuer ${issuer}`);
    await m.write.deleteTrustedIssuer(issuer);
    m.audit({ methodName: "DeleteTrustedIssuer", serviceName: SERVICE, resourceName: `trustedIssuers/${issuer}`, request: { issuer } });
  });
  return { revision };
}

const TAG = "Trusted issuers";

export const issuerRoutes = [
  route({
    method: "GET",
    path: "/api/v1/trustedIssuers",
    tag: TAG,
    summary: "List the trusted OpenID issuers",
    query: ZPageQuery,
    response: z.object({ trustedIssuers: z.array(ZTrustedIssuerJson), nextPageToken: z.string().optional() }),
    handler: async (admin, req) => ({ body: await listTrustedIssuers(admin, req.query) }),
  }),
  route({
    method: "POST",
    path: "/api/v1/trustedIssuers",
    tag: TAG,
    summary: "Trust an OpenID issuer for the email domains it lists (https, except on loopback)",
    body: ZCreateTrustedIssuer,
    response: z.object({ trustedIssuer: ZTrustedIssuerJson }),
    handler: async (admin, req) => {
      const { trustedIssuer, revision } = await createTrustedIssuer(admin, req.body);
      return { status: 201, body: { trustedIssuer }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "GET",
    path: "/api/v1/trustedIssuers/{issuer}",
    tag: TAG,
    summary: "Get a trusted issuer (the issuer URL %-encoded as one path segment)",
    response: ZTrustedIssuerJson,
    handler: async (admin, req) => ({ body: await getTrustedIssuer(admin, req.params.issuer!) }),
  }),
  route({
    method: "PATCH",
    path: "/api/v1/trustedIssuers/{issuer}",
    tag: TAG,
    summary: "Change a trusted issuer's audiences, domains, JWKS URI or email-verification rule",
    body: ZUpdateTrustedIssuer,
    response: z.object({ trustedIssuer: ZTrustedIssuerJson }),
    handler: async (admin, req) => {
      const { trustedIssuer, revision } = await updateTrustedIssuer(admin, req.params.issuer!, req.body);
      return { body: { trustedIssuer }, headers: revisionHeader(revision) };
    },
  }),
  route({
    method: "DELETE",
    path: "/api/v1/trustedIssuers/{issuer}",
    tag: TAG,
    summary: "Stop trusting an issuer (every instance stops accepting its tokens within a sync)",
    handler: async (admin, req) => ({ body: {}, headers: revisionHeader((await deleteTrustedIssuer(admin, req.params.issuer!)).revision) }),
  }),
];
