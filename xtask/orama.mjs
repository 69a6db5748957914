//! Search side by side with Orama (npm @orama/orama) in one Node run: the same demo catalog, the same
//! queries, keyword (BM25) and hybrid modes, both given the same model's document and query vectors.
//! Reports p50/p99 latency per query, index size, and how much the two top-10 lists overlap.
// Usage: node xtask/orama.mjs <build>/kv <wasm_search nodejs dir> <catalog.jsonl> [rounds=20]
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { create, insertMultiple, save, search } from "@orama/orama";

const [kvDir, pkgDir, catalogPath, roundsArg] = process.argv.slice(2);
if (!kvDir || !pkgDir || !catalogPath) {
  console.error("usage: node xtask/orama.mjs <build>/kv <wasm_search dir> <catalog.jsonl> [rounds]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 20);
const version = readFileSync(join(kvDir, "current"), "utf8").trim();
const value = (key) => readFileSync(join(kvDir, version, key));
const { Engine } = createRequire(import.meta.url)(resolve(pkgDir, "wasm_search.js"));
const [items, lexical, embedder] = [value("items"), value("search"), value("embedder")];
const ours = new Engine(items, lexical, embedder);

const products = readFileSync(catalogPath, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const vectorOf = new Map();
for (let i = 0; i < ours.count(); i++) vectorOf.set(ours.id(i), Array.from(ours.content_vector(i)));
const dim = vectorOf.values().next().value.length;

const started = performance.now();
const db = create({
  schema: { id: "string", title: "string", brand: "string", category: "string", description: "string", embedding: `vector[${dim}]` },
});
await insertMultiple(db, products.map((p) => ({
  id: p.id, title: p.title, brand: p.brand ?? "", category: p.category.join(" "), description: p.description ?? "",
  embedding: vectorOf.get(p.id) ?? new Array(dim).fill(0),
})));
const oramaBuildMs = performance.now() - started;
const oramaBytes = Buffer.byteLength(JSON.stringify(await save(db)));

// Shopper-like queries over the demo catalog, two with typos.
const queries = ["chair", "office chair", "paper", "binders", "stapler", "bookcase", "table", "phone",
  "storage box", "envelopes", "labels", "printer", "lamp", "headset", "chiar", "bookcsae", "copier",
  "fasteners", "art", "conference table", "wireless mouse", "keyboard", "usb", "file cabinet", "pens",
  "markers", "scissors", "tape", "calculator", "monitor"];

const engines = {
  "ours, keyword": (q) => ours.search(q, false, 10),
  "ours, hybrid": (q) => ours.search(q, true, 10),
  "orama, BM25": (q) => search(db, { term: q, limit: 10 }).hits.map((h) => h.document.id),
  // The query is embedded by the same model inside the timed call, as ours does.
  "orama, hybrid": (q) => search(db, {
    mode: "hybrid", term: q, vector: { value: Array.from(ours.embed(q)), property: "embedding" }, similarity: 0, limit: 10,
  }).hits.map((h) => h.document.id),
};
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const tops = {};
console.log(`  ${products.length} products, ${queries.length} queries x ${rounds} rounds, Node ${process.version}`);
console.log(`  ${"engine".padEnd(16)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)} ${"index".padStart(12)}`);
for (const [name, run] of Object.entries(engines)) {
  for (const q of queries) run(q); // warm-up (JIT, caches)
  const times = [];
  for (let r = 0; r < rounds; r++) {
    for (const q of queries) {
      const t = performance.now();
      const ids = run(q);
      times.push((performance.now() - t) * 1000);
      if (r === 0) (tops[name] ??= []).push(ids);
    }
  }
  times.sort((a, b) => a - b);
  const size = name.startsWith("ours")
    ? items.length + lexical.length + (name.endsWith("hybrid") ? embedder.length : 0)
    : oramaBytes;
  console.log(`  ${name.padEnd(16)} ${pct(times, 50).toFixed(0).padStart(8)} ${pct(times, 99).toFixed(0).padStart(8)} ${(size / 1024).toFixed(0).padStart(9)} KB`);
}
const overlap = (a, b) => {
  let sum = 0;
  queries.forEach((_, i) => {
    const set = new Set(tops[b][i]);
    sum += tops[a][i].length ? tops[a][i].filter((id) => set.has(id)).length / Math.max(tops[a][i].length, 1) : 0;
  });
  return (sum / queries.length).toFixed(2);
};
const empty = (name) => tops[name].filter((ids) => ids.length === 0).length;
console.log(`  orama index built in ${oramaBuildMs.toFixed(0)} ms; ours: the indexer's items + search (+ embedder for hybrid) KV values`);
console.log(`  top-10 overlap, ours vs orama: keyword ${overlap("ours, keyword", "orama, BM25")}, hybrid ${overlap("ours, hybrid", "orama, hybrid")}`);
console.log(`  queries with no result: ${Object.keys(engines).map((n) => `${n} ${empty(n)}`).join(", ")}`);
