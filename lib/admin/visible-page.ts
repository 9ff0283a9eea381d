// Keyset paging over rows the caller may see only some of (lists filtered by permission, as
// Google's list methods are: projects.list returns the projects one may get). Rows are read in
// key order in batches and filtered until a page is full; the page token is the key of the last
// row returned, so a page is never short because of rows the caller cannot see.
import { decodePageToken, pageOf, type PageQuery } from "./paging";

const BATCH = 200;

export async function visiblePage<T>(
  query: PageQuery,
  /** Rows in ascending key order after `after` (exclusive), at most `take`. */
  fetch: (after: string | undefined, take: number) => Promise<T[]>,
  key: (row: T) => string,
  visible: (row: T) => boolean,
): Promise<{ items: T[]; nextPageToken?: string }> {
  let after = decodePageToken(query.pageToken);
  const out: T[] = [];
  const take = Math.max(query.pageSize + 1, BATCH);
  for (;;) {
    const batch = await fetch(after, take);
    for (const row of batch) {
      if (!visible(row)) continue;
      out.push(row);
      if (out.length > query.pageSize) return pageOf(out, query.pageSize, key);
    }
    if (batch.length < take) return pageOf(out, query.pageSize, key);
    after = key(batch[batch.length - 1]!);
  }
}
