//! Memory benchmark of the built worker (edge/build) in local workerd: a crawler walks product pages
//! and distinct searches of a KV build, and the isolate's memory and workerd's are read after each phase.
// Usage: node xtask/crawl.mjs <build>/kv <catalog.jsonl> [products=10000] [searches=1000] [connections=8]
//   Pages go through the worker as a shopper's would (`/p/{id}` with the app's shell from app/dist,
//   `/api/search`), the edge cache off, so every request reads and decodes what it needs. Prints, after
//   each phase, CPU ms per request, workerd's resident set (VmRSS) and peak (VmHWM), and the isolate's
//   wasm memory (its high-water mark: wasm memory never shrinks) and the decoded values it keeps, as
//   the worker's log notes them; LOAD_JSON=file also writes them as JSON. Fails when a request fails.
//   workerd's own resident set (V8, Miniflare's router, KV and asset workers) grows to ~190 MB under
//   any traffic, even `/api/categories` alone; the wasm memory is what the catalog's size can move.
import { Miniflare } from "miniflare";
import { createReadStream, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { seed } from "./kv.mjs";
import { workerd } from "./workerd.mjs";

const [kvDir, catalog, productsArg, searchesArg, connectionsArg] = process.argv.slice(2);
if (!kvDir || !catalog) {
  console.error("usage: node xtask/crawl.mjs <build>/kv <catalog.jsonl> [products] [searches] [connections]");
  process.exit(2);
}
const wantProducts = Number(productsArg ?? 10000);
const wantSearches = Number(searchesArg ?? 1000);
const connections = Number(connectionsArg ?? 8);

/** `want` product ids spread over the catalog and titles' word pairs for `searches` distinct queries. */
async function sample(file, want, searches) {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const all = [];
  const words = new Set();
  for await (const line of lines) {
    if (!line.trim()) continue;
    const p = JSON.parse(line);
    all.push(p.id);
    if (words.size < 5000) for (const w of p.title.toLowerCase().split(/[^a-z]+/)) if (w.length > 3) words.add(w);
  }
  const step = Math.max(1, Math.floor(all.length / want));
  const ids = [];
  for (let i = 0; i < all.length && ids.length < want; i += step) ids.push(all[i]);
  // Single words first, then pairs, then triples: distinct queries spread over the vocabulary.
  const list = [...words];
  const queries = new Set();
  const add = (q) => queries.size < searches && queries.add(q);
  list.forEach((a) => add(a));
  list.forEach((a, i) => list.slice(i + 1).forEach((b) => add(`${a} ${b}`)));
  list.forEach((a, i) => list.slice(i + 1).forEach((b, j) => add(`${a} ${b} ${list[(i + j + 2) % list.length]}`)));
  return { ids, queries: [...queries] };
}

/** Requests every path with `connections` in flight; returns CPU ms per request. */
async function walk(base, paths, label) {
  const before = workerd().cpu;
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++];
      const res = await fetch(base + path);
      await res.arrayBuffer();
      if (res.status !== 200) {
        failed++;
        if (failed <= 3) console.error(`  ${label}: ${path}: HTTP ${res.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  if (failed > 0) throw new Error(`${label}: ${failed} of ${paths.length} requests failed`);
  return ((workerd().cpu - before) * 1000) / paths.length;
}

const { ids, queries } = await sample(catalog, wantProducts, wantSearches);
const mf = new Miniflare({
  scriptPath: "edge/build/index.js",
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  compatibilityDate: "2026-04-20",
  kvNamespaces: { SHOP: "crawl" },
  name: "crawl",
  assets: {
    directory: "app/dist", binding: "ASSETS", workerName: "crawl",
    routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
  },
  port: 0,
  cache: false,
  // The worker notes its wasm memory each time it passes a new 4 MB step (`store::memory_growth`).
  handleStructuredLogs: ({ message }) => {
    const m = /isolate memory: wasm ([\d.]+) MB, ([\d.]+) MB allocated, ([\d.]+) MB kept in (\d+)/.exec(message);
    if (m) wasm = { memory: Number(m[1]), allocated: Number(m[2]), kept: Number(m[3]), values: Number(m[4]) };
  },
});
let wasm = { memory: 0, allocated: 0, kept: 0, values: 0 };
const mb = (kb) => (kb / 1024).toFixed(1);
const rows = [];
try {
  await seed(await mf.getKVNamespace("SHOP"), kvDir);
  const base = (await mf.ready).toString().replace(/\/$/, "");
  const first = await fetch(`${base}/api/feed?limit=24`);
  if (first.status !== 200) throw new Error(`first feed: HTTP ${first.status}: ${(await first.text()).slice(0, 300)}`);
  await first.arrayBuffer();
  const row = (phase, requests, cpu) => {
    const m = workerd();
    rows.push({ phase, requests, cpu_ms_per_request: cpu, rss_mb: m.rss / 1024, peak_mb: m.peak / 1024, wasm: { ...wasm } });
    console.log(`  ${phase.padEnd(30)} ${String(requests).padStart(8)} ${(cpu ?? 0).toFixed(2).padStart(11)} ${mb(m.rss).padStart(8)} ${mb(m.peak).padStart(8)} ${wasm.memory.toFixed(1).padStart(8)} ${wasm.kept.toFixed(1).padStart(8)}`);
  };
  console.log(`  ${kvDir}: ${ids.length} product pages, ${queries.length} searches, ${connections} connections, edge cache off`);
  console.log(`  ${"phase".padEnd(30)} ${"requests".padStart(8)} ${"CPU ms/req".padStart(11)} ${"RSS MB".padStart(8)} ${"peak MB".padStart(8)} ${"wasm MB".padStart(8)} ${"kept MB".padStart(8)}`);
  row("started (one feed served)", 1, null);
  row("product pages /p/{id}", ids.length, await walk(base, ids.map((id) => `/p/${encodeURIComponent(id)}`), "products"));
  row("searches /api/search", queries.length,
    await walk(base, queries.map((q) => `/api/search?q=${encodeURIComponent(q)}&limit=24`), "searches"));
} finally {
  await mf.dispose();
}
if (process.env.LOAD_JSON) writeFileSync(process.env.LOAD_JSON, JSON.stringify({ kvDir, rows }, null, 2));
