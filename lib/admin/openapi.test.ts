// The generated OpenAPI document is valid OpenAPI 3.1 and describes every route the server answers.
import { describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { ADMIN_ROUTES } from "./http";
import { openApiDocument } from "./openapi";

describe("GET /api/v1/openapi.json", () => {
  it("is valid OpenAPI 3.1, with every declared route and the IAM methods", async () => {
    const doc = openApiDocument(ADMIN_ROUTES, "https://gatehouse.example.test") as { paths: Record<string, Record<string, unknown>> };
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    for (const r of ADMIN_ROUTES) expect(doc.paths[r.path.replace(/=\*\*/g, "")]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();
    for (const m of ["getIamPolicy", "setIamPolicy", "testIamPermissions"]) expect(doc.paths[`/api/v1/{resource}:${m}`]?.post).toBeDefined();
    // The request schemas are the zod schemas the server validates with (not written twice).
    const create = doc.paths["/api/v1/proxyKeys"]?.post as { requestBody: { content: { "application/json": { schema: { properties: Record<string, unknown> } } } } };
    expect(Object.keys(create.requestBody.content["application/json"].schema.properties).sort()).toEqual(["name", "regionHeader", "scopes", "trusted"]);
  });
});
