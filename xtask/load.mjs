//! Load benchmark of the built worker (edge/build) in local workerd with a KV build: requests/s,
//! p50/p99 latency, errors and workerd CPU ms per request for feed, search and a mixed workload.
// Usage: node xtask/load.mjs <build>/kv [seconds=10] [connections=8] [--no-cache]
//   --no-cache turns the Cache API off, so history-free answers are computed every time;
//   LOAD_JSON=file also writes the results as JSON; LOAD_ONLY=text runs only the scenarios whose name
//   contains it (e.g. `LOAD_ONLY=mixed node xtask/load.mjs <kv> 60 32`: a minute of every endpoint at
//   the highest rate 32 connections can drive).
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { writeFileSync } from "node:fs";
import { seed } from "./kv.mjs";
import { workerd } from "./workerd.mjs";

const args = process.argv.slice(2);
const noCache = args.includes("--no-cache");
const [kvDir, secondsArg, connectionsArg] = args.filter((a) => a !== "--no-cache");
if (!kvDir) {
  console.error("usage: node xtask/load.mjs <build>/kv [seconds] [connections]");
  process.exit(2);
}
const duration = Number(secondsArg ?? 10);
const connections = Number(connectionsArg ?? 8);

const mf = new Miniflare({
  scriptPath: "edge/build/index.js",
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  compatibilityDate: "2026-04-20",
  kvNamespaces: { SHOP: "load" },
  port: 0,
  cache: !noCache,
  // The worker's notes of its memory growth are the crawl's (xtask/crawl.mjs) to report; the rest of
  // its log is printed.
  handleStructuredLogs: ({ level, message }) => {
    if (!message.startsWith("isolate memory:")) console.log(`  worker ${level}: ${message}`);
  },
});
let failed = false;
const results = [];
try {
  await seed(await mf.getKVNamespace("SHOP"), kvDir);
  const base = (await mf.ready).toString().replace(/\/$/, "");
  const coldRes = await fetch(`${base}/api/feed?limit=24`);
  if (coldRes.status !== 200) {
    throw new Error(`cold feed: HTTP ${coldRes.status} (is ${kvDir} built in the format edge/build reads?): ${(await coldRes.text()).slice(0, 300)}`);
  }
  const cold = await coldRes.json();
  const items = cold.sections.flatMap((s) => s.items);
  const history = items.slice(0, 5).map((i) => i.id).join(",");
  const words = [...new Set(items.flatMap((i) => i.title.toLowerCase().split(/[^a-z]+/)).filter((w) => w.length > 3))];
  const queries = [...words.slice(0, 17), `${words[0]} ${words[1]}`, `${words[2]} ${words[3]}`,
    words[0].slice(0, 2) + words[0][3] + words[0][2] + words[0].slice(4)];
  const get = (path, headers = {}) => ({ method: "GET", path, headers });
  const search = queries.map((q) => get(`/api/search?q=${encodeURIComponent(q)}&limit=24`));
  const scenarios = [
    ["feed, new shopper", [get("/api/feed?limit=24")]],
    ["feed, 5-item history (X-History)", [get("/api/feed?limit=24", { "x-history": history })]],
    [`search, ${queries.length} queries rotating`, search],
    ["mixed: every endpoint", [
      get("/api/feed?limit=24"), search[0], get(`/api/suggest?q=${encodeURIComponent(words[1].slice(0, 3))}`),
      get(`/api/products/${encodeURIComponent(items[0].id)}`), get("/api/feed?limit=24", { "x-history": history }),
      search[5], get(`/api/products/${encodeURIComponent(items[1].id)}/similar`), search[18],
      get(`/api/products/${encodeURIComponent(items[2].id)}/bought-together`), get("/api/categories"),
      get("/api/pack"), get(`/api/rows?ids=${encodeURIComponent(items[3].id)}&related=true`),
      get(`/api/search?q=&category=${encodeURIComponent(items[0].category.map((c) => c.toLowerCase().replace(/[^a-z0-9]+/g, "-")).join("/"))}&sort=price_asc`),
    ]],
  ].filter(([name]) => !process.env.LOAD_ONLY || name.includes(process.env.LOAD_ONLY));
  console.log(`  ${kvDir}: ${duration} s per scenario, ${connections} connections, edge cache ${noCache ? "off" : "on"}`);
  console.log(`  ${"scenario".padEnd(40)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"requests".padStart(9)} ${"errors".padStart(7)} ${"CPU ms/req".padStart(11)}`);
  for (const [name, requests] of scenarios) {
    // Warm-up: every request once, so isolate caches hold what the scenario reads.
    for (const r of requests) await (await fetch(base + r.path, { headers: r.headers })).arrayBuffer();
    const before = workerd().cpu;
    const r = await autocannon({ url: base, connections, duration, requests, pipelining: 1 });
    const cpu = workerd().cpu - before;
    const total = r.requests.total;
    // autocannon's `errors` already includes `timeouts` (a timeout is counted as both).
    const errors = r.errors + r.non2xx;
    if (errors > 0 || r["5xx"] > 0) failed = true;
    const row = {
      scenario: name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: total, errors,
      timeouts: r.timeouts, non2xx: r.non2xx, status5xx: r["5xx"],
      cpu_ms_per_request: total ? (cpu * 1000) / total : null,
    };
    results.push(row);
    console.log(`  ${name.padEnd(40)} ${row.rps.toFixed(0).padStart(8)} ${String(row.p50).padStart(8)} ${String(row.p99).padStart(8)} ${String(total).padStart(9)} ${String(errors).padStart(7)} ${(row.cpu_ms_per_request ?? 0).toFixed(2).padStart(11)}`);
  }
} finally {
  await mf.dispose();
}
if (process.env.LOAD_JSON) writeFileSync(process.env.LOAD_JSON, JSON.stringify({ kvDir, duration, connections, cache: !noCache, results }, null, 2));
if (failed) {
  console.error("load: some requests failed (errors, timeouts or non-2xx)");
  process.exit(1);
}
