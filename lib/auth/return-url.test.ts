import { describe, expect, it } from "vitest";
import { safeReturnUrl } from "./return-url";

const opts = { publicUrl: "https://gatehouse.example.test" };

describe("safeReturnUrl", () => {
  it.each([
    ["/groups", "/groups"],
    ["/iap?x=1", "/iap?x=1"],
    ["/api/v1/app-session/start?rd=https%3A%2F%2Fweb.example.test%2F", "/api/v1/app-session/start?rd=https%3A%2F%2Fweb.example.test%2F"],
    ["https://gatehouse.example.test/audit", "https://gatehouse.example.test/audit"],
  ])("follows %s", (input, expected) => expect(safeReturnUrl(input, opts)).toBe(expected));

  it.each([
    "//evil.test/",
    "/\\evil.test",
    "https://evil.test/",
    "https://gatehouse.example.test.evil.test/",
    // Applications, even under the same parent domain: the console session never goes there.
    "https://web.example.test/app?q=1",
    "https://example.test/",
    "http://gatehouse.example.test/",
    "javascript:alert(1)",
    "https://user:pw@gatehouse.example.test/",
    "ftp://gatehouse.example.test/",
    "",
    42,
  ])("refuses %s", (input) => expect(safeReturnUrl(input, opts)).toBe("/iap"));
});
