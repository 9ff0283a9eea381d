// Several writes in one round trip: one statement of data-modifying CTEs, each part adding its
// own parameters. PostgreSQL runs every data-modifying CTE exactly once and to completion, whether
// or not the final query reads it, and all of them see the snapshot the statement started with —
// so parts are combined only when none needs rows another writes (a commit's records, say).
export class Statement {
  readonly params: unknown[] = [];
  private readonly ctes: string[] = [];
  private readonly names = new Set<string>();

  /** Adds a parameter; returns its placeholder (`$n`). */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** Adds a CTE (`name AS (sql)`); returns its name, made unique within the statement (`name_2`…). */
  with(name: string, sql: string): string {
    let unique = name;
    for (let n = 2; this.names.has(unique); n++) unique = `${name}_${n}`;
    this.names.add(unique);
    this.ctes.push(`${unique} AS (${sql})`);
    return unique;
  }

  get empty(): boolean {
    return this.ctes.length === 0;
  }

  /** The whole statement, ending with `final` (which may read the CTEs by name). */
  sql(final: string): string {
    return this.ctes.length ? `WITH ${this.ctes.join(",\n  ")}\n${final}` : final;
  }
}
