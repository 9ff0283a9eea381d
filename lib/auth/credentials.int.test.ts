// The console's password check against a real database: throttling per account and per client
// address (shared through the database), the same time for unknown accounts, re-hashing old
// hashes, and disabled principals (password and SSO).
//
// Throttling tests store hashes made with cheap parameters and pass the same parameters to
// checkCredentials (its dummy hash then costs the same), so that dozens of attempts take
// milliseconds; the timing and re-hash tests use the real parameters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { checkCredentials, type CredentialsResult } from "./credentials";
import { hashPassword, PASSWORD_PARAMS, verifyPassword } from "./password";
import { signInRefusal } from "./sign-in-policy";
import { accountKey, addressKey } from "./throttle";

const CHEAP = { N: 2 ** 10, r: 8, p: 1 };
const T0 = new Date("2026-12-01T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

async function user(email: string, password: string, opts: { params?: typeof CHEAP; disabled?: boolean } = {}) {
  await t.prisma.principal.create({ data: { kind: "USER", email, disabled: opts.disabled ?? false } });
  await t.prisma.user.create({ data: { email, passwordHash: await hashPassword(password, opts.params ?? CHEAP) } });
}

function attempt(email: string, password: string, address: string, now: Date): Promise<CredentialsResult> {
  return checkCredentials(t.prisma, { email, password, address }, { now, params: CHEAP });
}

const outcome = (r: CredentialsResult) => (r.ok ? "ok" : r.reason);

describe("throttling per account", () => {
  it("locks an email after 5 failures, whatever its case and the address, until the lock ends; a success resets", async () => {
    await user("alice@example.com", "alice-right-password");
    const results: string[] = [];
    for (let i = 1; i <= 5; i++) results.push(outcome(await attempt("alice@example.com", "wrong", `198.51.100.${i}`, at(i))));
    expect(results).toEqual(["invalid", "invalid", "invalid", "invalid", "throttled"]);

    // The right password, another case, another address: still refused, with the wait.
    const locked = await attempt("ALICE@Example.COM", "alice-right-password", "198.51.100.99", at(10));
    expect(locked).toEqual({ ok: false, reason: "throttled", retryAfterMs: 55_000 });

    // After the minute, the right password works and the count starts again.
    const ok = await attempt("Alice@example.com", "alice-right-password", "198.51.100.99", at(66));
    expect(ok).toMatchObject({ ok: true, user: { email: "alice@example.com" } });
    expect(await t.prisma.signInThrottle.count({ where: { key: accountKey("alice@example.com") } })).toBe(0);
    expect(outcome(await attempt("alice@example.com", "wrong", "198.51.100.1", at(70)))).toBe("invalid");
  });

  it("backs off: each failure after the lock doubles it", async () => {
    await user("bob@example.com", "bob-right-password");
    let now = 0;
    for (let i = 1; i <= 5; i++) await attempt("bob@example.com", "wrong", "198.51.101.1", at(++now));
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = await t.prisma.signInThrottle.findUniqueOrThrow({ where: { key: accountKey("bob@example.com") } });
      now = (lock.lockedUntil!.getTime() - T0.getTime()) / 1000 + 1; // just after the lock
      const r = await attempt("bob@example.com", "wrong", "198.51.101.2", at(now));
      waits.push(r.ok || r.reason !== "throttled" ? -1 : r.retryAfterMs / 60_000);
    }
    expect(waits).toEqual([2, 4, 8]);
  });

  it("treats unknown emails exactly like known ones", async () => {
    const results: string[] = [];
    for (let i = 1; i <= 6; i++) results.push(outcome(await attempt("nobody@example.com", "whatever", `198.51.102.${i}`, at(i))));
    expect(results).toEqual(["invalid", "invalid", "invalid", "invalid", "throttled", "throttled"]);
  });

  it("counts concurrent attempts before they are checked: a burst gets no more guesses than a sequence", async () => {
    await user("carol@example.com", "carol-right-password");
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt("carol@example.com", "wrong", `198.51.103.${i + 1}`, at(1))));
    const counts = results.reduce<Record<string, number>>((acc, r) => ((acc[outcome(r)] = (acc[outcome(r)] ?? 0) + 1), acc), {});
    expect(counts).toEqual({ invalid: 4, throttled: 8 });
  });
});

describe("throttling per client address", () => {
  it("locks an address after 20 failures, whichever accounts they named; other addresses are not affected", async () => {
    await user("dave@example.com", "dave-right-password");
    const results: string[] = [];
    for (let i = 1; i <= 20; i++) results.push(outcome(await attempt(`spray${i}@example.com`, "wrong", "203.0.113.50", at(i))));
    expect(results.slice(0, 19).every((r) => r === "invalid")).toBe(true);
    expect(results[19]).toBe("throttled");
    // Even the right password of an untouched account, from that address.
    expect(await attempt("dave@example.com", "dave-right-password", "203.0.113.50", at(30))).toMatchObject({ ok: false, reason: "throttled" });
    expect(await attempt("dave@example.com", "dave-right-password", "203.0.113.51", at(30))).toMatchObject({ ok: true });
  });

  it("counts an IPv6 client by its /64 and IPv4-mapped addresses as IPv4", async () => {
    for (let i = 1; i <= 20; i++) await attempt(`v6spray${i}@example.com`, "wrong", `2001:db8:7:7::${i.toString(16)}`, at(i));
    expect(outcome(await attempt("v6other@example.com", "wrong", "2001:db8:7:7:ffff::1", at(30)))).toBe("throttled");
    expect(outcome(await attempt("v6other@example.com", "wrong", "2001:db8:7:8::1", at(30)))).toBe("invalid");
    expect(addressKey("::ffff:203.0.113.50")).toBe(addressKey("203.0.113.50"));
    expect(outcome(await attempt("v4mapped@example.com", "wrong", "::ffff:203.0.113.50", at(31)))).toBe("throttled");
  });

  it("a success gives back only its own attempt: one account cannot buy guesses at others", async () => {
    await user("erin@example.com", "erin-right-password");
    for (let i = 1; i <= 19; i++) await attempt(`guess${i}@example.com`, "wrong", "203.0.113.60", at(i));
    expect(outcome(await attempt("erin@example.com", "erin-right-password", "203.0.113.60", at(20)))).toBe("ok");
    expect(outcome(await attempt("guess20@example.com", "wrong", "203.0.113.60", at(21)))).toBe("throttled");
  });
});

describe("unknown accounts", () => {
  it("cost the same time as known ones (verified against a dummy hash at the real parameters)", async () => {
    await user("timing@example.com", "timing-right-password", { params: PASSWORD_PARAMS });
    const time = async (email: string, address: string) => {
      const started = performance.now();
      const r = await checkCredentials(t.prisma, { email, password: "wrong-password", address }, {});
      expect(outcome(r)).toBe("invalid");
      return performance.now() - started;
    };
    await time("warmup@example.com", "192.0.2.200"); // the dummy hash is made on first use
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time("timing@example.com", `192.0.2.${i + 1}`));
      unknown.push(await time(`ghost${i}@example.com`, `192.0.2.${i + 101}`));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratio = mean(unknown) / mean(known);
    // Loose on purpose (shared machine); without the dummy hash the ratio is about 0.01.
    expect(ratio, `known ${known.map(Math.round)} ms, unknown ${unknown.map(Math.round)} ms`).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

describe("old hashes", () => {
  it("are verified with their own parameters and re-hashed at the current ones on a successful sign-in", async () => {
    const legacy = await hashPassword("frank-right-password", { N: 16384, r: 8, p: 1 }); // what was stored before
    await t.prisma.principal.create({ data: { kind: "USER", email: "frank@example.com" } });
    await t.prisma.user.create({ data: { email: "frank@example.com", passwordHash: legacy } });
    const read = async () => (await t.prisma.user.findUniqueOrThrow({ where: { email: "frank@example.com" }, select: { passwordHash: true } })).passwordHash!;

    expect(outcome(await checkCredentials(t.prisma, { email: "frank@example.com", password: "wrong", address: "192.0.2.50" }))).toBe("invalid");
    expect(await read()).toBe(legacy);

    expect(outcome(await checkCredentials(t.prisma, { email: "frank@example.com", password: "frank-right-password", address: "192.0.2.50" }))).toBe("ok");
    const upgraded = await read();
    expect(upgraded.startsWith("scrypt$131072$8$1$")).toBe(true);
    expect(await verifyPassword("frank-right-password", upgraded)).toBe(true);
    expect(outcome(await checkCredentials(t.prisma, { email: "frank@example.com", password: "frank-right-password", address: "192.0.2.50" }))).toBe("ok");
    expect(await read()).toBe(upgraded);
  });
});

describe("disabled principals", () => {
  it("cannot sign in with the right password, and the answer is the same as for a wrong one", async () => {
    await user("gina@example.com", "gina-right-password", { disabled: true });
    expect(await attempt("gina@example.com", "gina-right-password", "192.0.2.70", at(1))).toEqual({ ok: false, reason: "invalid" });
    await t.prisma.principal.update({ where: { email: "gina@example.com" }, data: { disabled: false } });
    expect(outcome(await attempt("gina@example.com", "gina-right-password", "192.0.2.70", at(2)))).toBe("ok");
  });

  it("cannot sign in with SSO either; SSO also needs a verified email", async () => {
    await t.prisma.principal.create({ data: { kind: "USER", email: "hank@example.com", disabled: true } });
    const refusal = (email: string, profile: unknown, allowUnverifiedEmail = false) => signInRefusal(t.prisma, { provider: "oidc", email, profile, allowUnverifiedEmail });
    expect(await refusal("hank@example.com", { email_verified: true })).toBe("disabled");
    expect(await refusal("Hank@Example.com", { email_verified: true })).toBe("disabled");
    expect(await refusal("ivy@example.com", { email_verified: true })).toBeNull();
    expect(await refusal("ivy@example.com", { email: "ivy@example.com" })).toBe("email-unverified");
    expect(await refusal("ivy@example.com", { email_verified: false })).toBe("email-unverified");
    expect(await refusal("ivy@example.com", { email_verified: false }, true)).toBeNull();
    expect(await refusal("hank@example.com", {}, true)).toBe("disabled");
    expect(await signInRefusal(t.prisma, { provider: "oidc", email: null, profile: { email_verified: true }, allowUnverifiedEmail: false })).toBe("no-email");
    expect(await signInRefusal(t.prisma, { provider: "credentials", email: "ivy@example.com", profile: undefined, allowUnverifiedEmail: false })).toBeNull();
  });
});
