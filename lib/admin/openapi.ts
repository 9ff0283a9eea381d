// GET /api/v1/openapi.json: OpenAPI 3.1 for the admin API, generated from the same declarations
// the server answers with (lib/admin/http.ts ADMIN_ROUTES and the IAM methods' zod schemas) —
// the schemas are written once. zod 4's JSON Schema output is JSON Schema 2020-12, which is what
// OpenAPI 3.1 uses. The decision API's own paths are documented in the README.
import { z } from "zod";
import type { ApiRoute } from "./routes";
import { ZGetIamPolicyRequest, ZIamPolicy, ZSetIamPolicyRequest, ZTestIamPermissionsRequest } from "./policies";

type Json = Record<string, unknown>;

function schema(s: z.ZodType): Json {
  // Input shape: what a client sends (transforms and defaults as the caller sees them).
  const out = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

const ZError = z.object({
  error: z.object({
    code: z.string().describe("INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, ALREADY_EXISTS, ABORTED, FAILED_PRECONDITION, …"),
    message: z.string(),
    details: z.array(z.object({ path: z.string().optional(), message: z.string() })).optional(),
  }),
});

const ERRORS = {
  "400": { description: "Invalid argument (every issue by path in `details`)", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
  "401": { description: "No or an unaccepted credential", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
  "403": { description: "Permission denied — also for what does not exist, so a refusal tells nothing", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
  "409": { description: "Conflict: ALREADY_EXISTS, ABORTED (stale etag) or FAILED_PRECONDITION (a guard rail)", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
};

function pathOf(template: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = template.replace(/\{(\w+)(=\*\*)?\}/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

function operation(r: ApiRoute): Json {
  const { params } = pathOf(r.path);
  const parameters: Json[] = params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
  if (r.query) {
    const q = schema(r.query) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, s] of Object.entries(q.properties ?? {})) parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema: s });
  }
  const ok = r.method === "POST" ? "201" : "200";
  return {
    summary: r.summary,
    tags: [r.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: schema(r.body) } } } } : {}),
    responses: {
      [ok]: { description: "OK", ...(r.response ? { content: { "application/json": { schema: schema(r.response) } } } : {}) },
      ...ERRORS,
    },
  };
}

function iamOperation(method: string, summary: string, body: z.ZodType, response: z.ZodType): Json {
  return {
    summary,
    tags: ["IAM policies"],
    description:
      "`resource` is a full resource name with its slashes (organizations/1, projects/demo/iap_web/compute/services/web, …). " +
      "The same handler answers at /v1/{resource}:" + method + " and, for organizations, folders and projects, /v3/{resource}:" + method + ", in Google's error shape.",
    parameters: [{ name: "resource", in: "path", required: true, description: "A full resource name; its slashes are not escaped.", schema: { type: "string" } }],
    requestBody: { required: true, content: { "application/json": { schema: schema(body) } } },
    responses: { "200": { description: "OK", content: { "application/json": { schema: schema(response) } } }, ...ERRORS },
  };
}

export function openApiDocument(routes: readonly ApiRoute[], publicUrl: string): Json {
  const paths: Record<string, Json> = {
    "/api/v1/{resource}:getIamPolicy": { post: iamOperation("getIamPolicy", "Read a resource's allow policy", ZGetIamPolicyRequest, ZIamPolicy) },
    "/api/v1/{resource}:setIamPolicy": {
      post: iamOperation("setIamPolicy", "Replace a resource's allow policy (read-modify-write with its etag)", ZSetIamPolicyRequest, ZIamPolicy),
    },
    "/api/v1/{resource}:testIamPermissions": {
      post: iamOperation("testIamPermissions", "Which of these permissions the caller holds on the resource", ZTestIamPermissionsRequest, z.object({ permissions: z.array(z.string()) })),
    },
  };
  for (const r of routes) {
    const { path } = pathOf(r.path);
    paths[path] = { ...(paths[path] ?? {}), [r.method.toLowerCase()]: operation(r) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Gatehouse admin API",
      version: "1",
      description:
        "Every change is authorised by the IAM engine it manages and recorded in the same transaction. Writes answer with `x-gatehouse-revision`: pass it as `minRevision` to the decision API to see the change enforced on the next call.",
    },
    servers: [{ url: publicUrl }],
    security: [{ bearer: [] }, { console: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An ID token: Gatehouse's own (audience GATEHOUSE_PUBLIC_URL) or a trusted issuer's." },
        console: { type: "apiKey", in: "cookie", name: "authjs.session-token", description: "The console's session; writes must come from the console's origin." },
      },
      schemas: { Error: schema(ZError) },
    },
    paths,
  };
}
