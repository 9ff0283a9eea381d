import { describe, expect, it } from "vitest";
import { dummyHash, generatePassword, hashPassword, needsRehash, PASSWORD_PARAMS, verifyPassword } from "./password";

const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

describe("password hashing", () => {
  it("uses OWASP's scrypt parameters (N = 2^17, r = 8, p = 1) by default", async () => {
    expect(PASSWORD_PARAMS).toEqual({ N: 131072, r: 8, p: 1 });
    // Above Node's default maxmem (32 MiB): this throws unless maxmem is raised for it.
    const h = await hashPassword("correct horse battery staple");
    expect(h).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword("correct horse battery staple", h)).toBe(true);
    expect(await verifyPassword("correct horse battery stapler", h)).toBe(false);
    expect(needsRehash(h)).toBe(false);
  });

  it("verifies a hash with its own parameters and flags it for an upgrade", async () => {
    const legacy = await hashPassword("hunter2hunter2", { N: 16384, r: 8, p: 1 }); // the parameters before this change
    expect(legacy.startsWith("scrypt$16384$8$1$")).toBe(true);
    expect(await verifyPassword("hunter2hunter2", legacy)).toBe(true);
    expect(needsRehash(legacy)).toBe(true);
    expect(needsRehash(legacy, { N: 16384, r: 8, p: 1 })).toBe(false);
  });

  it("refuses malformed or absurd stored hashes instead of running them", async () => {
    const h = await hashPassword("pw", CHEAP);
    const [, , r, p, salt, hash] = h.split("$");
    for (const bad of ["", "bcrypt$x", `scrypt$1000$${r}$${p}$${salt}$${hash}`, `scrypt$${2 ** 24}$${r}$${p}$${salt}$${hash}`, `scrypt$1024$0$${p}$${salt}$${hash}`, `${h}$extra`]) {
      expect(await verifyPassword("pw", bad)).toBe(false);
      expect(needsRehash(bad)).toBe(true);
    }
  });

  it("keeps one dummy hash per parameter set, at those parameters", async () => {
    const a = await dummyHash(CHEAP);
    expect(a).toBe(await dummyHash(CHEAP));
    expect(a.startsWith("scrypt$1024$8$1$")).toBe(true);
  });

  it("generates one-word one-time passwords", () => {
    const pw = generatePassword();
    expect(pw).toMatch(/^[\w-]{20}$/);
    expect(generatePassword()).not.toBe(pw);
  });
});
