import { describe, expect, it } from "vitest";
import { cookieDomainMatches, safeReturnUrl } from "./return-url";

const opts = { publicUrl: "https://gatehouse.example.test", cookieDomain: "example.test" };

describe("safeReturnUrl", () => {
  it.each([
    ["/groups", "/groups"],
    ["/iap?x=1", "/iap?x=1"],
    ["https://gatehouse.example.test/audit", "https://gatehouse.example.test/audit"],
    ["https://web.example.test/app?q=1", "https://web.example.test/app?q=1"],
    ["http://wiki.example.test/", "http://wiki.example.test/"],
    ["https://example.test/", "https://example.test/"],
  ])("follows %s", (input, expected) => expect(safeReturnUrl(input, opts)).toBe(expected));

  it.each([
    "//evil.test/",
    "/\\evil.test",
    "https://evil.test/",
    "https://example.test.evil.test/",
    "https://evilexample.test/",
    "javascript:alert(1)",
    "https://user:pw@web.example.test/",
    "ftp://web.example.test/",
    "",
    42,
  ])("refuses %s", (input) => expect(safeReturnUrl(input, opts)).toBe("/iap"));

  it("refuses other hosts when no cookie domain is configured", () => {
    expect(safeReturnUrl("https://web.example.test/", { publicUrl: "https://gatehouse.example.test" })).toBe("/iap");
  });
});

describe("cookieDomainMatches", () => {
  it("matches the domain and its subdomains only", () => {
    expect(cookieDomainMatches("a.b.example.test", ".example.test")).toBe(true);
    expect(cookieDomainMatches("EXAMPLE.test", "example.test")).toBe(true);
    expect(cookieDomainMatches("notexample.test", "example.test")).toBe(false);
    expect(cookieDomainMatches("example.test", undefined)).toBe(false);
  });
});
