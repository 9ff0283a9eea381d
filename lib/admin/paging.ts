// Keyset paging for every list endpoint (`pageSize`, `pageToken`, Google's names): a page token is
// the opaque, base64url-encoded key of the last item returned, so paging deep costs the same as
// paging shallow (no OFFSET) and a list that changes between pages neither repeats nor skips.
import { z } from "zod";
import { AppError } from "@/lib/errors";

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

export const ZPageQuery = z.object({
  pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  pageToken: z.string().max(1024).optional(),
  /** A case-insensitive substring of the listed items' names (emails, resource names). */
  filter: z.string().max(256).optional(),
});
export type PageQuery = z.infer<typeof ZPageQuery>;

export function encodePageToken(lastKey: string): string {
  return Buffer.from(JSON.stringify({ k: lastKey }), "utf8").toString("base64url");
}

/** The key a page token continues after; INVALID_ARGUMENT for a token this API did not make. */
export function decodePageToken(token: string | undefined): string | undefined {
  if (token === undefined || token === "") return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k?: unknown };
    if (typeof v.k === "string") return v.k;
  } catch {
    // fall through
  }
  throw new AppError("INVALID_ARGUMENT", "pageToken is not a token this list returned");
}

/**
 * One page from items fetched as `pageSize + 1` rows in key order after the token's key: the
 * extra row only says whether there is a next page.
 */
export function pageOf<T>(rows: readonly T[], pageSize: number, key: (t: T) => string): { items: T[]; nextPageToken?: string } {
  const items = rows.slice(0, pageSize);
  return rows.length > pageSize ? { items, nextPageToken: encodePageToken(key(items[items.length - 1]!)) } : { items };
}
