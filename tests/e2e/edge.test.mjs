//! The built worker (edge/build) running in workerd through Miniflare, with a KV namespace seeded
//! from the indexer's real demo build.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { readBuild, seed } from "../../xtask/kv.mjs";
import { mentions, products, purchases } from "./demo.mjs";

const KV_DIR = process.env.KV_DIR ?? "target/xtask/demo-build/kv";
let mf, kv, version;

before(async () => {
  mf = new Miniflare({
    scriptPath: "edge/build/index.js",
    modules: true,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-20",
    kvNamespaces: { SHOP: "edge-test" },
  });
  kv = await mf.getKVNamespace("SHOP");
  ({ version } = await seed(kv, KV_DIR));
});
after(() => mf?.dispose());

const get = async (path, init) => {
  const res = await mf.dispatchFetch(`http://shop.test${path}`, init);
  const text = await res.text();
  return { res, status: res.status, type: res.headers.get("content-type"), body: text ? JSON.parse(text) : null };
};

describe("with the demo index", () => {
  test("feed lists the most purchased products first", async () => {
    const { status, body } = await get("/api/feed?limit=10");
    assert.equal(status, 200);
    assert.equal(body.index_version, version);
    assert.equal(body.items.length, 10);
    const max = Math.max(...purchases.values());
    assert.equal(purchases.get(body.items[0].id), max);
    assert.equal(body.items[0].purchases, max);
    for (let i = 1; i < body.items.length; i++) {
      assert.ok(body.items[i - 1].purchases >= body.items[i].purchases, "feed is ordered by purchases");
    }
  });

  test("product by id matches the catalog", async () => {
    for (const p of [products[0], products[products.length >> 1], products.at(-1)]) {
      const { status, body, res } = await get(`/api/products/${encodeURIComponent(p.id)}`);
      assert.equal(status, 200);
      assert.equal(body.product.id, p.id);
      assert.equal(body.product.title, p.title);
      assert.deepEqual(body.product.category, p.category);
      assert.match(body.image, /^\/img\/category\/[a-z-]+\.svg$/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    }
  });

  test("search 'chair' returns only products about chairs, with a total", async () => {
    const { status, body } = await get("/api/search?q=chair&limit=50");
    assert.equal(status, 200);
    const expected = products.filter((p) => mentions(p, "chair")).length;
    assert.equal(body.total, expected);
    assert.ok(body.items.length > 0);
    for (const item of body.items) assert.ok(mentions(item, "chair"), `${item.title} mentions chair`);
    // Exact "chair(s)" in the title outranks words that merely start with "chair".
    assert.ok(/\bchairs?\b/i.test(body.items[0].title));
  });

  test("an unknown product id is a 404 problem naming the id", async () => {
    const { status, type, body } = await get("/api/products/NO-SUCH-ID");
    assert.equal(status, 404);
    assert.equal(type, "application/problem+json");
    assert.equal(body.status, 404);
    assert.equal(body.param, "id");
    assert.match(body.detail, /NO-SUCH-ID/);
  });

  test("bad parameters are 400 problems naming the parameter", async () => {
    for (const [path, param] of [["/api/feed?limit=0", "limit"], ["/api/search?q=x&page=-1", "page"], [`/api/search?q=${"a".repeat(300)}`, "q"]]) {
      const { status, type, body } = await get(path);
      assert.equal(status, 400, path);
      assert.equal(type, "application/problem+json");
      assert.equal(body.param, param);
    }
  });

  test("unknown API routes are 404 and wrong methods 405 with Allow", async () => {
    assert.equal((await get("/api/nothing")).status, 404);
    const { status, res, body } = await get("/api/feed", { method: "POST", body: "x" });
    assert.equal(status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assert.equal(body.status, 405);
  });
});

describe("when the index is missing, corrupt or switched", () => {
  test("no `current` key: 503 problem, not a crash", async () => {
    await kv.delete("current");
    try {
      const { status, type, body } = await get("/api/feed");
      assert.equal(status, 503);
      assert.equal(type, "application/problem+json");
      assert.match(body.detail, /current/);
    } finally {
      await kv.put("current", version);
    }
    assert.equal((await get("/api/feed")).status, 200);
  });

  test("a corrupt or other-format value: 503 problem naming the key", async () => {
    const { entries } = await readBuild(KV_DIR);
    for (const [name, mangle] of [
      ["corrupt", (b) => b.slice(0, 10)],
      ["oldfmt", (b) => { const c = new Uint8Array(b.slice(0)); c[4] = 99; return c.buffer; }],
    ]) {
      for (const { key, value } of entries) await kv.put(key.replace(version, name), key.endsWith("/popular") ? mangle(value) : value);
      await kv.put("current", name);
      const { status, body } = await get("/api/feed");
      assert.equal(status, 503, name);
      assert.match(body.detail, new RegExp(`${name}/popular`));
      // Other keys of the same build still serve.
      assert.equal((await get("/api/search?q=chair")).status, 200);
    }
    await kv.put("current", version);
    assert.equal((await get("/api/feed")).status, 200);
  });

  test("switching `current` serves the new build on the next request", async () => {
    const { entries } = await readBuild(KV_DIR);
    for (const { key, value } of entries) await kv.put(key.replace(version, "v-next"), value);
    assert.equal((await get("/api/feed")).body.index_version, version);
    await kv.put("current", "v-next");
    assert.equal((await get("/api/feed")).body.index_version, "v-next");
    await kv.put("current", version);
    assert.equal((await get("/api/feed")).body.index_version, version);
  });
});
