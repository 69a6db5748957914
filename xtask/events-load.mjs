//! Load benchmark of `POST /api/events`: the built worker in local workerd with the demo KV build and
//! a real local D1, driven as hard as `connections` can for about `seconds`; every request is a new
//! batch of 10 events. A short run measures the rate, then the main run sends that rate times
//! `seconds` requests and waits for every answer (a run cut off by time would leave requests in
//! flight, stored but never counted). Passes only with no error and exactly 10 rows in D1 per
//! accepted batch.
// Usage: node xtask/events-load.mjs <build>/kv [seconds=60] [connections=32]
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { randomBytes } from "node:crypto";
import { migrate } from "./d1.mjs";
import { seed } from "./kv.mjs";

const [kvDir, secondsArg, connectionsArg] = process.argv.slice(2);
if (!kvDir) {
  console.error("usage: node xtask/events-load.mjs <build>/kv [seconds] [connections]");
  process.exit(2);
}
const duration = Number(secondsArg ?? 60);
const connections = Number(connectionsArg ?? 32);
const PER_BATCH = 10;

const mf = new Miniflare({
  scriptPath: "edge/build/index.js",
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  compatibilityDate: "2026-04-20",
  kvNamespaces: { SHOP: "events-load" },
  d1Databases: { DB: "events-load" },
  port: 0,
});
let failed = false;
try {
  await seed(await mf.getKVNamespace("SHOP"), kvDir);
  const db = await mf.getD1Database("DB");
  await migrate(db);
  const base = (await mf.ready).toString().replace(/\/$/, "");
  // Items of the build: the first products of its popular list, read through the API.
  const feed = await (await fetch(`${base}/api/feed?limit=24`)).json();
  const items = feed.sections.flatMap((s) => s.items.map((i) => i.id));
  const batch = () => {
    const at = Math.floor(Date.now() / 1000);
    return JSON.stringify({
      batch: randomBytes(16).toString("hex"),
      session: randomBytes(16).toString("hex"),
      events: Array.from({ length: PER_BATCH }, (_, n) => ({
        kind: n % 5 === 0 ? "click" : "impression", surface: "home", list: "trending",
        item: items[n % items.length], position: n, at,
      })),
    });
  };
  const run = (amount) => autocannon({
    url: `${base}/api/events`,
    connections,
    amount,
    requests: [{
      method: "POST",
      setupRequest: (req) => ({
        ...req,
        headers: { "content-type": "application/json", cookie: `sf_cid=${randomBytes(16).toString("hex")}` },
        body: batch(),
      }),
    }],
  });
  const started = Date.now();
  const warmup = await run(2000);
  const rate = 2000 / ((Date.now() - started) / 1000);
  const result = await run(Math.round(rate * duration));
  const accepted = [warmup, result].reduce((n, r) => n + (r.statusCodeStats?.["202"]?.count ?? 0), 0);
  const rows = (await db.prepare("SELECT count(*) AS n FROM events").first()).n;
  const batches = (await db.prepare("SELECT count(*) AS n FROM event_batches").first()).n;
  const errors = [warmup, result].reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0);
  console.log(`POST /api/events, ${connections} connections, ${result.requests.sent} batches in ${result.duration.toFixed(1)} s after 2000 to measure the rate, ${PER_BATCH} events per batch`);
  console.log(`  ${(result.requests.average).toFixed(0)} batches/s (${(result.requests.average * PER_BATCH).toFixed(0)} events/s), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
  console.log(`  accepted ${accepted} batches (${accepted * PER_BATCH} events); D1 holds ${batches} batches, ${rows} events; errors ${errors}`);
  if (errors > 0 || rows !== accepted * PER_BATCH || batches !== accepted) {
    console.error("FAILED: errors, or the rows in D1 differ from the events accepted");
    failed = true;
  }
} finally {
  await mf.dispose();
}
process.exit(failed ? 1 : 0);
