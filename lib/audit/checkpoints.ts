// Signed checkpoints of the audit chains, kept OUTSIDE PostgreSQL: every period the server reads
// each stream's head (seq, hash, count of records ever appended) and appends one line to an
// append-only NDJSON file under the data directory (fsync'd) and to the log stream. A checkpoint
// is HMAC-signed with the checkpoint key (chain.ts), so whoever controls the database can
// neither forge one nor make the chain agree with one after rewriting, removing or wiping records;
// `audit verify --checkpoints FILE` checks the database against them (verify.ts). Records
// appended after the newest checkpoint an auditor holds are covered by the chain alone.
import fs from "node:fs";
import path from "node:path";
import { createHmac, timingSafeEqual, type KeyObject } from "node:crypto";
import { z } from "zod";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { auditKeys, canonicalJson, STREAMS, type Stream } from "./chain";

export const CHECKPOINT_TYPE = "gatehouse.audit.checkpoint";
export const CHECKPOINT_FILE = "checkpoints.ndjson";

export const ZCheckpoint = z.strictObject({
  type: z.literal(CHECKPOINT_TYPE),
  stream: z.enum(STREAMS as [Stream, ...Stream[]]),
  /** The newest record's seq (decimal string). */
  seq: z.string().regex(/^\d{1,19}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Records ever appended to the stream up to and including `seq` (purged ones too). */
  count: z.string().regex(/^\d{1,19}$/),
  time: z.iso.datetime(),
  /** periodic | purge (the last purged record, written before the purge) | shutdown */
  kind: z.enum(["periodic", "purge", "shutdown"]),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Checkpoint = z.infer<typeof ZCheckpoint>;
export type CheckpointKind = Checkpoint["kind"];

function mac(c: Omit<Checkpoint, "mac">, key: KeyObject): string {
  return createHmac("sha256", key).update(canonicalJson(c)).digest("hex");
}

export function signCheckpoint(c: Omit<Checkpoint, "mac" | "type">, key: KeyObject = auditKeys().checkpoint): Checkpoint {
  const body = { type: CHECKPOINT_TYPE, ...c } as const;
  return { ...body, mac: mac(body, key) };
}

export function checkpointSignatureValid(c: Checkpoint, key: KeyObject = auditKeys().checkpoint): boolean {
  const { mac: given, ...body } = c;
  return timingSafeEqual(Buffer.from(given, "hex"), Buffer.from(mac(body, key), "hex"));
}

/**
 * Checkpoints in a file an auditor kept: the NDJSON file, or a log containing the lines the
 * server printed (anything before the JSON on a line, and lines without a checkpoint, are
 * skipped). A line that looks like a checkpoint but does not parse is reported, not skipped.
 */
export function parseCheckpoints(text: string, source: string): { checkpoints: Checkpoint[]; errors: string[] } {
  const checkpoints: Checkpoint[] = [];
  const errors: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.includes(CHECKPOINT_TYPE)) return;
    const start = line.indexOf("{");
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.slice(start));
    } catch {
      parsed = undefined;
    }
    const r = ZCheckpoint.safeParse(parsed);
    if (r.success) checkpoints.push(r.data);
    else errors.push(`${source}:${i + 1}: not a valid checkpoint`);
  });
  return { checkpoints, errors };
}

/** Appends lines to `file` and fsyncs it (the directory is created first). */
export function appendDurably(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "a", 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface CheckpointSink {
  /** The NDJSON file under the data directory. */
  file: string;
  /** The log stream: one line per checkpoint (the same JSON, so a log excerpt is a checkpoint file). */
  log: (line: string) => void;
}

/** Writes `c` to the file (durably) and the log stream. A file that cannot be written is reported, and the line still goes to the log. */
export function emitCheckpoint(sink: CheckpointSink, c: Checkpoint): void {
  const line = JSON.stringify(c);
  try {
    appendDurably(sink.file, line + "\n");
  } catch (e) {
    sink.log(`audit: cannot write the checkpoint file ${sink.file}: ${(e as Error).message}`);
  }
  sink.log(line);
}

/**
 * Checkpoints each stream whose head moved since this writer's last checkpoint of it (a stream
 * without records has nothing to pin). Returns what it wrote.
 */
export class CheckpointWriter {
  private last = new Map<Stream, string>();

  constructor(
    private readonly db: PrismaClient,
    private readonly sink: CheckpointSink,
  ) {}

  async write(kind: CheckpointKind = "periodic", now = new Date()): Promise<Checkpoint[]> {
    const heads = await this.db.auditChainHead.findMany();
    const written: Checkpoint[] = [];
    for (const h of heads) {
      const stream = h.stream as Stream;
      if (!STREAMS.includes(stream) || h.recordCount === 0n) continue;
      const at = `${h.lastSeq}:${h.lastHash}`;
      if (this.last.get(stream) === at) continue;
      const c = signCheckpoint({ stream, seq: h.lastSeq.toString(), hash: h.lastHash, count: h.recordCount.toString(), time: now.toISOString(), kind });
      emitCheckpoint(this.sink, c);
      this.last.set(stream, at);
      written.push(c);
    }
    return written;
  }

  /** Writes now and every `periodMs` until the returned function is called (which writes a last "shutdown" checkpoint). */
  start(periodMs: number): () => Promise<void> {
    let running: Promise<unknown> = Promise.resolve();
    const tick = (kind: CheckpointKind) => {
      running = running.then(() => this.write(kind)).catch((e: unknown) => this.sink.log(`audit: checkpoint failed: ${(e as Error).message}`));
      return running;
    };
    void tick("periodic");
    const timer = setInterval(() => void tick("periodic"), periodMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await tick("shutdown");
    };
  }
}
