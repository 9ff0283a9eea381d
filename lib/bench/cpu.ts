// CPU time of process trees, read from /proc (Linux): where a benchmark's cycles went when client,
// servers and database share the same cores. A tree's time is its root's own and reaped
// children's time plus that of its live descendants (so short-lived database backends count).
import fs from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Stat {
  ppid: number;
  /** utime + stime, and cutime + cstime, in ticks. */
  self: number;
  children: number;
}

function readStat(pid: number, file = `/proc/${pid}/stat`): Stat | null {
  try {
    const text = fs.readFileSync(file, "utf8");
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    return { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** Milliseconds of CPU used so far by the tree rooted at `root` (0 when it is gone or not on Linux). */
export function treeCpuMs(root: number): number {
  let pids: number[];
  try {
    pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return 0;
  }
  const byParent = new Map<number, number[]>();
  const stats = new Map<number, Stat>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (!s) continue;
    stats.set(pid, s);
    const l = byParent.get(s.ppid);
    if (l) l.push(pid);
    else byParent.set(s.ppid, [pid]);
  }
  const rootStat = stats.get(root);
  if (!rootStat) return 0;
  let ticks = rootStat.self + rootStat.children;
  const stack = [...(byParent.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    ticks += stats.get(pid)?.self ?? 0;
    stack.push(...(byParent.get(pid) ?? []));
  }
  return ticks * TICK_MS;
}

/** Milliseconds of CPU used so far by a process's main thread (its JavaScript event loop in node). */
export function mainThreadCpuMs(pid: number): number {
  return (readStat(pid, `/proc/${pid}/task/${pid}/stat`)?.self ?? 0) * TICK_MS;
}

/**
 * CPU of several named trees ("self": this process; { mainThread: pid }: that process's main
 * thread alone), measured from now until the returned call.
 */
export function cpuMeter(trees: Record<string, number | "self" | { mainThread: number | undefined } | undefined>): () => Record<string, number> {
  const cpu = (pid: number | "self" | { mainThread: number | undefined } | undefined) =>
    pid === "self" ? selfCpuMs() : typeof pid === "object" ? (pid.mainThread ? mainThreadCpuMs(pid.mainThread) : 0) : pid ? treeCpuMs(pid) : 0;
  const read = () => Object.fromEntries(Object.entries(trees).map(([name, pid]) => [name, cpu(pid)]));
  const before = read();
  return () => {
    const after = read();
    return Object.fromEntries(Object.keys(trees).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
  };
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
