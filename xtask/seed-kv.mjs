//! Seeds the local KV store that `wrangler dev` reads from an indexer build folder.
//
// Miniflare's API writes the same on-disk store wrangler dev uses; `wrangler kv bulk put --local`
// would corrupt binary values and `wrangler kv key put` costs ~2 s a key.
// Usage: node xtask/seed-kv.mjs <build>/kv <persist dir>/v3/kv <namespace id> [--prune]
import { Miniflare } from "miniflare";
import { seed } from "./kv.mjs";

const [kvDir, persist, namespace, ...flags] = process.argv.slice(2);
if (!kvDir || !persist || !namespace) {
  console.error("usage: seed-kv.mjs <kv dir> <persist dir> <namespace id> [--prune]");
  process.exit(2);
}
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response(null, { status: 204 }) } }",
  kvNamespaces: { SHOP: namespace },
  kvPersist: persist,
});
try {
  const r = await seed(await mf.getKVNamespace("SHOP"), kvDir, { prune: flags.includes("--prune") });
  console.log(`  seeded ${r.keys} keys (${r.bytes} bytes) of ${r.version}; current -> ${r.version}` +
    (r.pruned ? `; pruned ${r.pruned} keys of older builds` : ""));
} finally {
  await mf.dispose();
}
