import { describe, expect, it } from "vitest";
import { ACCOUNT_RULE, ADDRESS_RULE, accountKey, addressKey, lockDuration, retryAfterText } from "./throttle";

describe("sign-in throttle keys and windows", () => {
  it("keys accounts by the lower-cased email, so changing case does not make a new bucket", () => {
    expect(accountKey("Admin@Example.COM ")).toBe(accountKey("admin@example.com"));
    expect(accountKey("admin@example.com")).toMatch(/^account:[0-9a-f]{64}$/);
    expect(accountKey("admin@example.com")).not.toBe(accountKey("admin2@example.com"));
  });

  it("keys addresses by IPv4 address or IPv6 /64, IPv4-mapped IPv6 as IPv4", () => {
    expect(addressKey("203.0.113.7")).toBe("address:203.0.113.7");
    expect(addressKey("::ffff:203.0.113.7")).toBe("address:203.0.113.7");
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("address:2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:bbbb::9")).toBe(addressKey("2001:db8:1:2:aaaa::1"));
    expect(addressKey("2001:db8:1:3::1")).not.toBe(addressKey("2001:db8:1:2::1"));
    expect(addressKey("fe80::1%eth0")).toBe("address:fe80::/64");
    for (const bad of [null, undefined, "", "not an address"]) expect(addressKey(bad)).toBe("address:unknown");
  });

  it("locks from the 5th account failure and the 20th address failure, doubling up to 30 minutes", () => {
    const minutes = (rule: typeof ACCOUNT_RULE, n: number) => (lockDuration(rule, n) ?? 0) / 60_000;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20].map((n) => minutes(ACCOUNT_RULE, n))).toEqual([0, 0, 0, 0, 1, 2, 4, 8, 16, 30, 30]);
    expect([19, 20, 21, 22].map((n) => minutes(ADDRESS_RULE, n))).toEqual([0, 1, 2, 4]);
    expect(minutes(ACCOUNT_RULE, 10_000)).toBe(30);
  });

  it("says the wait in whole minutes, rounded up", () => {
    expect(retryAfterText(1)).toBe("1 minute");
    expect(retryAfterText(60_000)).toBe("1 minute");
    expect(retryAfterText(60_001)).toBe("2 minutes");
    expect(retryAfterText(30 * 60_000)).toBe("30 minutes");
  });
});
