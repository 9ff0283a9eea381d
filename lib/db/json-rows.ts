// Many rows in one statement: INSERT … SELECT FROM json_to_recordset($1), the rows passed as one
// JSON parameter. Prisma's createMany compiles its query per chunk on the event loop (~0.2 ms a
// row: 2.7 s for 12,000 change references) and its nested creates insert row by row; this costs
// one round trip and a few microseconds a row. jsonb columns travel as JSON text inside the JSON
// and are cast by the statement: letting json_to_recordset extract nested values into jsonb
// columns itself is about twice as slow (12,000 audit records: 0.9 s against 0.45 s).
import type { Prisma } from "@/lib/generated/prisma/client";

type Tx = Prisma.TransactionClient;

/** The columns of a bulk insert: name → SQL type (as in json_to_recordset's column list). */
export type Columns = Record<string, string>;

/**
 * INSERT INTO table (columns…, extra…) SELECT columns…, extra expressions… FROM the JSON rows, in
 * their order, then `suffix` (an ON CONFLICT clause). Table, column names and expressions are the
 * caller's constants, never input. A key that is missing or undefined in a row is SQL NULL, and
 * so is null — except in a jsonb column, where null is JSON null: leave such keys out.
 */
export async function insertJsonRows(tx: Tx, table: string, columns: Columns, rows: readonly object[], opts: { extra?: Record<string, string>; suffix?: string } = {}): Promise<number> {
  if (rows.length === 0) return 0;
  const cols = Object.entries(columns);
  const jsonb = cols.filter(([, type]) => type === "jsonb").map(([c]) => c);
  const defs = cols.map(([c, type]) => `"${c}" ${type === "jsonb" ? "text" : type}`);
  const select = cols.map(([c, type]) => (type === "jsonb" ? `r."${c}"::jsonb` : `r."${c}"`));
  const extra = Object.entries(opts.extra ?? {});
  const sql =
    `INSERT INTO "${table}" (${[...cols.map(([c]) => `"${c}"`), ...extra.map(([c]) => `"${c}"`)].join(", ")}) ` +
    `SELECT ${[...select, ...extra.map(([, e]) => e)].join(", ")} ` +
    `FROM ROWS FROM (json_to_recordset($1::json) AS (${defs.join(", ")})) WITH ORDINALITY AS r ` +
    `ORDER BY r.ordinality ${opts.suffix ?? ""}`;
  const data = jsonb.length === 0 ? rows : rows.map((row) => {
    const copy: Record<string, unknown> = { ...row };
    for (const c of jsonb) if (copy[c] !== undefined) copy[c] = JSON.stringify(copy[c]);
    return copy;
  });
  return tx.$executeRawUnsafe(sql, JSON.stringify(data));
}
