import { describe, expect, it } from "vitest";
import { canTraverse, hintFor, keyLine } from "./embedded";

describe("canTraverse (can user postgres get through a directory?)", () => {
  const pg = { uid: 101, gid: 104 };
  it("uses the owner, group or other execute bit, whichever class applies", () => {
    expect(canTraverse({ mode: 0o700, uid: 0, gid: 0 }, pg)).toBe(false); // root's home
    expect(canTraverse({ mode: 0o711, uid: 0, gid: 0 }, pg)).toBe(true);
    expect(canTraverse({ mode: 0o1777, uid: 0, gid: 0 }, pg)).toBe(true); // /tmp
    expect(canTraverse({ mode: 0o700, uid: 101, gid: 0 }, pg)).toBe(true); // its own
    expect(canTraverse({ mode: 0o070, uid: 101, gid: 104 }, pg)).toBe(false); // owner class wins
    expect(canTraverse({ mode: 0o750, uid: 0, gid: 104 }, pg)).toBe(true);
    expect(canTraverse({ mode: 0o705, uid: 0, gid: 104 }, pg)).toBe(false); // group class wins
  });
});

describe("failure messages", () => {
  it("pick the line that explains a failed start, without the log prefix", () => {
    const log = [
      "2026-12-06 16:30:20.880 GMT [18630] LOG:  starting PostgreSQL 17.10",
      '2026-12-06 16:30:20.886 GMT [18630] LOG:  unrecognized configuration parameter "bogus" in file "/c/postgresql.conf" line 848',
      '2026-12-06 16:30:20.887 GMT [18630] FATAL:  configuration file "/c/postgresql.conf" contains errors',
    ].join("\n");
    expect(keyLine(log)).toBe(
      'FATAL: configuration file "/c/postgresql.conf" contains errors (unrecognized configuration parameter "bogus" in file "/c/postgresql.conf" line 848)',
    );
    expect(hintFor(log, "/c", 5432)).toMatch(/^Fix that setting in \/c\/postgresql\.conf/);
    expect(keyLine('initdb: error: could not access directory "/x": Permission denied\n')).toBe('could not access directory "/x": Permission denied');
    expect(keyLine("")).toBeNull();
  });

  it("say what to do", () => {
    expect(hintFor('FATAL:  could not write to file "pg_wal/x": No space left on device', "/c", 1)).toMatch(/disk space/);
    expect(hintFor("LOG:  could not bind IPv4 address: Address already in use", "/c", 54329)).toMatch(/Port 54329/);
    expect(hintFor('FATAL:  lock file "postmaster.pid" already exists', "/c", 1)).toMatch(/Another PostgreSQL.*\/c\/postmaster\.pid/);
    expect(hintFor("initdb: error while loading shared libraries: libicuuc.so.60", "/c", 1)).toMatch(/npm install/);
    expect(hintFor("something else", "/c", 1)).toBe("See the log.");
  });
});
