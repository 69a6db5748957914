//! Applies edge/migrations to a D1 database (Miniflare's `getD1Database`) the way
//! `wrangler d1 migrations apply` does, file by file in name order, statement by statement. Shared by
//! the workerd tests and `events-load.mjs`.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

const DIR = "edge/migrations";

export async function migrate(db) {
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith(".sql")).sort()) {
    const sql = (await readFile(join(DIR, file), "utf8")).replace(/^--.*$/gm, "");
    for (const statement of sql.split(";").map((s) => s.trim()).filter(Boolean)) await db.prepare(statement).run();
  }
}
