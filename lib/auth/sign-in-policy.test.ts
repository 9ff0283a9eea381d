import { describe, expect, it } from "vitest";
import { emailVerified } from "./sign-in-policy";

describe("email_verified", () => {
  it("counts only an explicit true (or the string some issuers send)", () => {
    expect(emailVerified({ email: "a@example.com", email_verified: true })).toBe(true);
    expect(emailVerified({ email: "a@example.com", email_verified: "true" })).toBe(true);
    for (const p of [{ email: "a@example.com" }, { email_verified: false }, { email_verified: "false" }, { email_verified: 1 }, null, undefined, "x"]) {
      expect(emailVerified(p)).toBe(false);
    }
  });
});
