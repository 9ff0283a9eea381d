import { describe, expect, it } from "vitest";
import { SecretBox, SecretBoxError } from "./secret-box";

const SECRET = "a-test-secret-that-is-long-enough-000000";

describe("SecretBox", () => {
  it("round-trips and never stores the plaintext", () => {
    const box = new SecretBox(SECRET, "signing-key");
    const sealed = box.seal('{"d":"private-part"}', "kid-1");
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealed).not.toContain("private-part");
    expect(box.open(sealed, "kid-1")).toBe('{"d":"private-part"}');
    expect(box.seal("x", "kid-1")).not.toBe(box.seal("x", "kid-1")); // random IV
  });

  it("refuses another secret, another purpose, another row (aad) and tampering", () => {
    const sealed = new SecretBox(SECRET, "signing-key").seal("payload", "kid-1");
    expect(() => new SecretBox(SECRET + "x", "signing-key").open(sealed, "kid-1")).toThrow(SecretBoxError);
    expect(() => new SecretBox(SECRET, "other").open(sealed, "kid-1")).toThrow(SecretBoxError);
    expect(() => new SecretBox(SECRET, "signing-key").open(sealed, "kid-2")).toThrow(SecretBoxError);
    const raw = Buffer.from(sealed.slice(3), "base64url");
    raw[14]! ^= 1;
    expect(() => new SecretBox(SECRET, "signing-key").open("v1." + raw.toString("base64url"), "kid-1")).toThrow(SecretBoxError);
    expect(() => new SecretBox(SECRET, "signing-key").open("v0.abc", "kid-1")).toThrow(SecretBoxError);
  });

  it("refuses short secrets", () => {
    expect(() => new SecretBox("short", "signing-key")).toThrow(/32/);
  });
});
