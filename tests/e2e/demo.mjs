//! The demo data the indexer imported, read independently of the Rust code so tests can derive
//! expected answers from the source instead of hard-coding them.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.DEMO_DIR ?? "target/xtask/demo";

/** Products of catalog.jsonl, in file order. */
export const products = readFileSync(join(dir, "catalog.jsonl"), "utf8")
  .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));

/** Purchases per item id from interactions.csv (ids here never contain commas or quotes). */
export const purchases = new Map();
for (const line of readFileSync(join(dir, "interactions.csv"), "utf8").split("\n").slice(1)) {
  const [, item, , event] = line.split(",");
  if (event === "purchase") purchases.set(item, (purchases.get(item) ?? 0) + 1);
}

/** Does a product (title or category path) contain a word starting with `prefix`? */
export function mentions(p, prefix) {
  const words = [p.title, ...p.category].join(" ").toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return words.some((w) => w.startsWith(prefix));
}
