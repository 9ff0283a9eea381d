// The admin API's REST routes other than the IAM policy methods: each aggregate module declares
// its routes here-shaped — method, path template, zod schemas of body and query, a summary — and
// lib/admin/http.ts answers them while lib/admin/openapi.ts documents them from the same
// declarations (the schemas are written once).
import type { z } from "zod";
import type { AdminContext } from "./context";

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface RouteRequest<B, Q> {
  /** Path parameters, %-decoded. */
  params: Record<string, string>;
  body: B;
  query: Q;
}

export interface RouteResponse {
  /** Default 200. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Instead of `body`: text streamed as it is produced (written with backpressure). */
  stream?: { contentType: string; chunks: AsyncIterable<string> };
}

export interface ApiRoute<B = unknown, Q = unknown> {
  method: HttpMethod;
  /**
   * Template under /api/v1: `{name}` is one path segment, `{name=**}` the rest of the path; either
   * may end in a custom verb, as Google's APIs write them (`/api/v1/projects/{id}:move`).
   */
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  /** What a 200 answers (documentation). */
  response?: z.ZodType;
  handler(admin: AdminContext, req: RouteRequest<B, Q>): Promise<RouteResponse>;
}

/** Declares a route (a function only so that B and Q are inferred from the schemas). */
export function route<B = undefined, Q = undefined>(r: ApiRoute<B, Q>): ApiRoute<unknown, unknown> {
  return r as unknown as ApiRoute<unknown, unknown>;
}

/** The header every write answers with: its revision, for minRevision on the decision path. */
export function revisionHeader(revision: bigint | null): Record<string, string> {
  return revision !== null ? { "x-gatehouse-revision": revision.toString() } : {};
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
}

interface Compiled {
  route: ApiRoute;
  re: RegExp;
  names: string[];
}

function compile(r: ApiRoute): Compiled {
  const names: string[] = [];
  const source = r.path
    .split("/")
    .map((seg) => {
      // `{name}`, `{name=**}`, each optionally followed by a custom verb (`{name}:move`).
      const m = /^\{(\w+)(=\*\*)?\}(:[A-Za-z]+)?$/.exec(seg);
      if (!m) return escapeRe(seg);
      names.push(m[1]!);
      return (m[2] ? "(.+)" : "([^/]+)") + escapeRe(m[3] ?? "");
    })
    .join("/");
  return { route: r, re: new RegExp(`^${source}$`), names };
}

export interface Router {
  readonly routes: readonly ApiRoute[];
  /**
   * The route for `method` and `path`: `{ route, params }`, `"method"` when the path exists with
   * other methods (405), or null when no route has the path.
   */
  match(method: string, path: string): { route: ApiRoute; params: Record<string, string> } | { allow: string } | null;
}

export function router(routes: readonly ApiRoute[]): Router {
  const compiled = routes.map(compile);
  return {
    routes,
    match(method, path) {
      const allowed: string[] = [];
      for (const c of compiled) {
        const m = c.re.exec(path);
        if (!m) continue;
        let params: Record<string, string>;
        try {
          params = Object.fromEntries(c.names.map((n, i) => [n, m[i + 1]!.split("/").map(decodeURIComponent).join("/")]));
        } catch {
          return null;
        }
        if (c.route.method === method || (method === "HEAD" && c.route.method === "GET")) return { route: c.route, params };
        allowed.push(c.route.method);
      }
      return allowed.length ? { allow: [...new Set(allowed)].join(", ") } : null;
    },
  };
}
