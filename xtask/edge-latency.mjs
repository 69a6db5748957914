//! Latency of the built worker (edge/build) in workerd via Miniflare with the demo KV build: p50/p99
//! of sequential requests per endpoint, after a warm-up (isolate cache filled).
// Usage: node xtask/edge-latency.mjs <build>/kv [runs]
import { Miniflare } from "miniflare";
import { performance } from "node:perf_hooks";
import { seed } from "./kv.mjs";

const [kvDir, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 200);
const mf = new Miniflare({
  scriptPath: "edge/build/index.js",
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  compatibilityDate: "2026-04-20",
  kvNamespaces: { SHOP: "latency" },
});
try {
  await seed(await mf.getKVNamespace("SHOP"), kvDir);
  const first = (await (await mf.dispatchFetch("http://x/api/feed?limit=2")).json()).sections[0].items;
  const history = first.map((i) => i.id).join(",");
  const cases = [
    ["feed, new shopper", "/api/feed?limit=24"],
    ["feed, 2-item history", "/api/feed?limit=24", { "x-history": history }],
    ["search 'chair'", "/api/search?q=chair"],
    ["search 'something to sit on'", "/api/search?q=something%20to%20sit%20on"],
    ["suggest 'office cha'", "/api/suggest?q=office%20cha"],
    ["product", `/api/products/${encodeURIComponent(first[0].id)}`],
  ];
  console.log(`  ${"endpoint".padEnd(30)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}  (${runs} sequential requests, warm isolate)`);
  for (const [name, path, headers] of cases) {
    for (let i = 0; i < 5; i++) await (await mf.dispatchFetch(`http://x${path}`, { headers })).arrayBuffer();
    const t = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      const res = await mf.dispatchFetch(`http://x${path}`, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
      t.push(performance.now() - s);
    }
    t.sort((a, b) => a - b);
    const q = (p) => t[Math.min(t.length - 1, Math.floor(p * t.length))].toFixed(2);
    console.log(`  ${name.padEnd(30)} ${q(0.5).padStart(8)} ${q(0.99).padStart(8)}`);
  }
} finally {
  await mf.dispose();
}
