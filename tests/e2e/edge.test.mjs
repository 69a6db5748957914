//! The built worker (edge/build) running in workerd through Miniflare, with a KV namespace seeded
//! from the indexer's real demo build.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { migrate } from "../../xtask/d1.mjs";
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

/**
 * Repeats `ask` (resolving to `{ res }`) until the edge cache answers it, at most 40 times: the worker
 * stores an answer after sending it (`waitUntil`), so the very next request may still miss.
 */
const untilCached = async (ask) => {
  for (let i = 0; i < 40; i++) {
    const r = await ask();
    if (r.res.headers.get("x-edge-cache") === "hit") return r;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail("the answer was never stored in the edge cache");
};

const get = async (path, init) => {
  const res = await mf.dispatchFetch(`http://shop.test${path}`, init);
  const text = await res.text();
  return { res, status: res.status, type: res.headers.get("content-type"), body: text ? JSON.parse(text) : null };
};

describe("with the demo index", () => {
  test("a new shopper's feed is Trending: the most purchased first, diversified", async () => {
    const { status, body, res } = await get("/api/feed?limit=12");
    assert.equal(status, 200);
    assert.equal(body.index_version, version);
    assert.deepEqual(body.sections.map((s) => s.id), ["trending"]);
    assert.equal(body.variant, "control", "without a client id: the first of the demo's two variants");
    const items = body.sections[0].items;
    assert.equal(items.length, 12);
    const max = Math.max(...purchases.values());
    assert.equal(purchases.get(items[0].id), max);
    const perLeaf = {};
    for (const i of items) perLeaf[i.category.join("/")] = (perLeaf[i.category.join("/")] ?? 0) + 1;
    assert.ok(Object.values(perLeaf).every((n) => n <= 6), JSON.stringify(perLeaf));
    assert.equal(res.headers.get("cache-control"), "public, max-age=60");
    assert.match(res.headers.get("vary"), /x-history/i);
  });

  test("a history makes the feed personal, and it is never cached", async () => {
    const viewed = products.find((p) => mentions(p, "bookcase"));
    const other = products.find((p) => mentions(p, "binder"));
    const history = `${viewed.id},${other.id}:purchase`;
    // Only in the header: a history in the URL would be kept by logs and caches on the way.
    const inUrl = await get(`/api/feed?limit=8&history=${encodeURIComponent(history)}`);
    assert.equal(inUrl.status, 400);
    assert.equal(inUrl.type, "application/problem+json");
    assert.equal(inUrl.body.param, "history");
    {
      const { status, body, res } = await get("/api/feed?limit=8", { headers: { "x-history": history } });
      assert.equal(status, 200);
      assert.deepEqual(body.sections.map((s) => s.id), ["for-you", "because", "trending"]);
      assert.equal(body.sections[1].title, `Because you viewed ${viewed.title}`);
      const all = body.sections.flatMap((s) => s.items.map((i) => i.id));
      assert.ok(!all.includes(viewed.id) && !all.includes(other.id), "history items are not offered back");
      assert.equal(new Set(all).size, all.length, "no item twice");
      const top = body.sections[0].items[0];
      const sum = top.why.similarity + top.why.co_occurrence + top.why.popularity;
      assert.ok(Math.abs(sum - top.score) < 1e-4, "the explanation adds up to the score");
      assert.equal(res.headers.get("cache-control"), "private, no-store");
    }
  });

  test("a history adds a personal boost to search, and such answers are not cached", async () => {
    const viewed = products.find((p) => mentions(p, "bookcase"));
    const plain = await get("/api/search?q=furniture&limit=50");
    const personal = await get("/api/search?q=furniture&limit=50", { headers: { "x-history": viewed.id } });
    assert.ok(plain.body.items.every((i) => i.why.personal === 0));
    assert.ok(personal.body.items.some((i) => i.why.personal > 0));
    assert.equal(personal.res.headers.get("cache-control"), "private, no-store");
    assert.equal(plain.res.headers.get("cache-control"), "public, max-age=60");
  });

  test("similar and bought-together products", async () => {
    const id = [...purchases.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const similar = await get(`/api/products/${encodeURIComponent(id)}/similar`);
    assert.equal(similar.status, 200);
    assert.ok(similar.body.items.length > 0 && similar.body.items.every((i) => i.id !== id));
    const together = await get(`/api/products/${encodeURIComponent(id)}/bought-together`);
    assert.equal(together.status, 200);
    assert.ok(together.body.items.every((i) => i.id !== id && i.score > 0));
    assert.equal((await get("/api/products/NOPE/similar")).status, 404);
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

  test("search 'chair' finds every chair by keyword, best matches first", async () => {
    const { status, body } = await get("/api/search?q=chair&limit=20");
    assert.equal(status, 200);
    const byKeyword = products.filter((p) => mentions(p, "chair")).length;
    assert.ok(body.total >= byKeyword, `total ${body.total} covers the ${byKeyword} keyword matches`);
    assert.equal(body.items.length, 20);
    for (const item of body.items) assert.ok(mentions(item, "chair"), `${item.title} mentions chair`);
    assert.ok(/\bchairs?\b/i.test(body.items[0].title), "an exact word match ranks first");
    assert.equal(body.items[0].why.keyword, "exact");
    assert.ok(body.items[0].score >= body.items[19].score);
    assert.ok(body.facets.category["furniture/chairs"] > 0);
  });

  test("search tolerates a typo and finds by meaning", async () => {
    const typo = (await get("/api/search?q=bookcsae&limit=5")).body;
    assert.ok(typo.items.length > 0);
    for (const item of typo.items) assert.match(item.title + item.category.join(" "), /bookcase/i);
    // No product has the word "seating", but chairs mean seating.
    const meaning = (await get("/api/search?q=seating&limit=10")).body;
    assert.ok(meaning.items.some((i) => i.why.semantic !== undefined && /chair|sofa|stool/i.test(i.title + i.category)), JSON.stringify(meaning.items.map((i) => i.title)));
  });

  test("the query encoder in workerd reproduces the indexer's product vectors", async () => {
    // The indexer embedded each product from `title. category > path` (Product::embed_text); the same
    // text embedded at the edge by the wasm build of ranking must land on the product's own vector.
    for (const p of [products[3], products[700], products[1500]]) {
      const q = `${p.title}. ${p.category.join(" > ")}`.slice(0, 200);
      const { body } = await get(`/api/search?q=${encodeURIComponent(q)}&limit=100`);
      const hit = body.items.find((i) => i.id === p.id);
      assert.ok(hit, `${p.id} found for its own text`);
      assert.ok(hit.why.semantic > 0.995, `cosine ${hit.why.semantic} for ${p.title}`);
    }
  });

  test("suggest completes the word being typed and shows products", async () => {
    const { status, body } = await get("/api/suggest?q=office%20cha");
    assert.equal(status, 200);
    assert.ok(body.terms.length > 0 && body.terms.every((t) => t.startsWith("office cha")), JSON.stringify(body.terms));
    assert.ok(body.terms.includes("office chair") || body.terms.includes("office chairs"), JSON.stringify(body.terms));
    assert.ok(body.products.length > 0 && body.products.length <= 5);
    assert.deepEqual((await get("/api/suggest?q=")).body.terms, []);
  });

  test("categories form a tree whose counts add up to the catalog", async () => {
    const { status, body } = await get("/api/categories");
    assert.equal(status, 200);
    const roots = body.categories;
    assert.equal(roots.reduce((n, c) => n + c.count, 0), products.length);
    for (const root of roots) assert.equal(root.children.reduce((n, c) => n + c.count, 0), root.count);
    const chairs = roots.find((c) => c.path === "furniture").children.find((c) => c.path === "furniture/chairs");
    assert.equal(chairs.count, products.filter((p) => p.category.join("/") === "Furniture/Chairs").length);
  });

  test("search filters, sorts and pages", async () => {
    const chairs = (await get("/api/search?q=chair&category=furniture/chairs&limit=100")).body;
    assert.ok(chairs.items.length > 0 && chairs.items.every((i) => i.category.join("/") === "Furniture/Chairs"));
    const cheap = (await get("/api/search?q=chair&sort=price_asc&max_price=100&limit=100")).body;
    const prices = cheap.items.map((i) => i.price.amount);
    assert.ok(prices.every((p) => p <= 100));
    assert.deepEqual(prices, [...prices].sort((a, b) => a - b));
    // The demo catalog has no stock data: nothing is known to be in stock in the shopper's country.
    const stocked = await get("/api/search?q=chair&in_stock=true", { headers: { "cf-ipcountry": "US" } });
    assert.equal(stocked.status, 200);
    assert.equal(stocked.body.total, 0);
    const p1 = (await get("/api/search?q=paper&limit=5&page=1")).body;
    const p2 = (await get("/api/search?q=paper&limit=5&page=2")).body;
    assert.equal(p1.total, p2.total);
    assert.ok(!p1.items.some((a) => p2.items.some((b) => a.id === b.id)), "pages do not overlap");
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
    for (const [path, param] of [["/api/feed?limit=0", "limit"], ["/api/search?q=x&page=-1", "page"], [`/api/search?q=${"a".repeat(300)}`, "q"],
      ["/api/search?q=x&sort=cheap", "sort"], ["/api/search?q=x&min_price=5&max_price=1", "min_price"],
      ["/api/search?q=x&country=Germany", "country"]]) {
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

describe("data for ranking on the device", () => {
  const bytes = async (fetcher, path) => {
    const res = await fetcher(`http://shop.test${path}`);
    return { res, status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const dispatch = (url) => mf.dispatchFetch(url);
  // KV frame: "SFKV", format version (u16 LE), kind (u8).
  const kind = (b) => (b.subarray(0, 4).toString() === "SFKV" ? b[6] : -1);

  test("the pack is a KV value of kind 13 with the build's most popular products, cached at the edge", async () => {
    const first = await bytes(dispatch, "/api/pack?country=DE");
    assert.equal(first.status, 200);
    assert.equal(first.res.headers.get("content-type"), "application/octet-stream");
    assert.equal(kind(first.body), 13);
    const top = [...purchases.entries()].sort((a, b) => b[1] - a[1])[0][0];
    assert.ok(first.body.includes(Buffer.from(top)), "the most purchased product is in the pack");
    assert.ok(first.body.includes(Buffer.from("EUR")), "the locale rides along");
    assert.ok(first.body.length < 400_000, `pack is ${first.body.length} bytes`);
    const again = await untilCached(() => bytes(dispatch, "/api/pack?country=DE"));
    assert.deepEqual(again.body, first.body);
  });

  test("rows of a product carry its related items; too many ids is a 400 naming `ids`", async () => {
    const p = products.find((x) => mentions(x, "bookcase"));
    const alone = await bytes(dispatch, `/api/rows?ids=${encodeURIComponent(p.id)}`);
    const related = await bytes(dispatch, `/api/rows?ids=${encodeURIComponent(p.id)}&related=true`);
    assert.equal(related.status, 200);
    assert.equal(kind(related.body), 10);
    assert.ok(alone.body.includes(Buffer.from(p.title)));
    const similar = (await get(`/api/products/${encodeURIComponent(p.id)}/similar`)).body.items;
    assert.ok(similar.length > 0);
    for (const s of similar) assert.ok(related.body.includes(Buffer.from(s.id)), `${s.id} rides along`);
    assert.ok(related.body.length > alone.body.length);
    // The app asks for one product at a time; more would read many cells of a partitioned build.
    const ids = `${encodeURIComponent(p.id)},X-1`;
    const { status, body } = await get(`/api/rows?ids=${ids}`);
    assert.equal(status, 400);
    assert.equal(body.param, "ids");
  });
});

describe("privacy and fault logging", () => {
  let logged, mf2, kv2, v2;
  before(async () => {
    logged = [];
    mf2 = new Miniflare({
      scriptPath: "edge/build/index.js",
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-20",
      kvNamespaces: { SHOP: "edge-test-privacy" },
      handleStructuredLogs: ({ level, message }) => {
        logged.push(`${level}: ${message}`);
      },
    });
    kv2 = await mf2.getKVNamespace("SHOP");
    ({ version: v2 } = await seed(kv2, KV_DIR));
  });
  after(() => mf2?.dispose());
  const marker = "HISTORY-MARKER-7f3a";

  test("a shopper's history is never written to KV, the edge cache or the logs", async () => {
    const real = products.find((p) => mentions(p, "bookcase")).id;
    const personal = [
      ["/api/feed?limit=7", { headers: { "x-history": `${marker},${real}:cart` } }],
      ["/api/search?q=chair&limit=7", { headers: { "x-history": `${marker},${real}` } }],
    ];
    const inUrl = await mf2.dispatchFetch(`http://shop.test/api/feed?limit=7&history=${marker}`);
    assert.equal(inUrl.status, 400, "a history in the URL is refused");
    assert.ok(!(await inUrl.text()).includes(marker), "and not echoed back");
    for (const [path, init] of personal) {
      const res = await mf2.dispatchFetch(`http://shop.test${path}`, init);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("cache-control"), "private, no-store");
      await res.arrayBuffer();
    }
    // Faults are logged, and even then without the history.
    // (A build of its own: the isolate keeps the live build's values decoded.)
    const { entries } = await readBuild(KV_DIR);
    for (const { key, value } of entries) {
      await kv2.put(key.replace(v2, "faulty"), key.endsWith("/items") ? value.slice(0, 10) : value);
    }
    await kv2.put("current", "faulty");
    try {
      const res = await mf2.dispatchFetch("http://shop.test/api/feed?limit=7", { headers: { "x-history": marker } });
      assert.equal(res.status, 503);
      await res.arrayBuffer();
    } finally {
      await kv2.put("current", v2);
    }
    await new Promise((r) => setTimeout(r, 200));
    const fault = logged.filter((l) => l.includes("faulty/items"));
    assert.ok(fault.length > 0, `the fault is logged: ${logged.join(" | ")}`);
    assert.deepEqual(logged.filter((l) => l.includes(marker)), [], "no log line carries the history");
    // Logged once: one line per failed request, not one per retry or section.
    assert.equal(fault.length, 1, logged.join(" | "));
    const keys = (await kv2.list()).keys.map((k) => k.name);
    for (const key of keys) {
      const value = Buffer.from(await kv2.get(key, "arrayBuffer"));
      assert.ok(!key.includes(marker) && !value.includes(Buffer.from(marker)), key);
    }
    // The URLs asked with a history have no entry in the edge cache: the first history-free request
    // for them misses, later ones hit (so the key is the one a personal answer would have used).
    for (const target of ["/api/feed?limit=7", "/api/search?q=chair&limit=7"]) {
      const ask = async () => {
        const res = await mf2.dispatchFetch(`http://shop.test${target}`);
        await res.arrayBuffer();
        return { res };
      };
      assert.equal((await ask()).res.headers.get("x-edge-cache"), "miss", target);
      await untilCached(ask);
    }
  });

  test("oversized query strings and history headers are refused with a 400 naming them", async () => {
    const long = await mf2.dispatchFetch(`http://shop.test/api/search?q=chair&pad=${"a".repeat(16 * 1024)}`);
    assert.equal(long.status, 400);
    assert.equal((await long.json()).param, "query");
    const header = await mf2.dispatchFetch("http://shop.test/api/feed", { headers: { "x-history": "p,".repeat(40_000) } });
    assert.equal(header.status, 400);
    assert.equal((await header.json()).param, "history");
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

  test("`current` naming a version that has no keys: 503 problems naming the missing key, never a 500", async () => {
    await kv.put("current", "no-such-build");
    try {
      for (const path of ["/api/feed", "/api/search?q=chair", "/api/suggest?q=ch", "/api/categories",
        `/api/products/${encodeURIComponent(products[0].id)}`, "/api/pack", "/api/rows?ids=x"]) {
        const { status, type, body } = await get(path);
        assert.equal(status, 503, path);
        assert.equal(type, "application/problem+json", path);
        assert.match(body.detail, /no-such-build\//, path);
        assert.equal(body.fallback, undefined, `${path}: no build, no fallback list either`);
      }
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
      for (const { key, value } of entries) await kv.put(key.replace(version, name), key.endsWith("/items") ? mangle(value) : value);
      await kv.put("current", name);
      const { status, body } = await get("/api/feed?limit=5");
      assert.equal(status, 503, name);
      assert.match(body.detail, new RegExp(`${name}/items`));
      // The feed still has something to show: the build's popular list, not personal.
      assert.deepEqual(body.fallback.sections.map((s) => s.id), ["trending"]);
      assert.equal(body.fallback.sections[0].items.length, 5);
      assert.equal(purchases.get(body.fallback.sections[0].items[0].id), Math.max(...purchases.values()));
      assert.equal((await get("/api/search?q=chair")).body.fallback, undefined, "only the feed has a fallback");
      // Other keys of the same build still serve.
      assert.equal((await get(`/api/products/${encodeURIComponent(products[0].id)}`)).status, 200);
    }
    await kv.put("current", version);
    assert.equal((await get("/api/feed")).status, 200);
  });

  test("switching `current` while requests run: every answer is whole, from one build or the other", async () => {
    const { entries } = await readBuild(KV_DIR);
    for (const { key, value } of entries) await kv.put(key.replace(version, "v-live"), value);
    const paths = ["/api/feed?limit=5", "/api/search?q=chair&limit=5&page=3", "/api/categories", "/api/suggest?q=bin"];
    const inflight = [];
    for (let i = 0; i < 40; i++) {
      const path = paths[i % paths.length];
      inflight.push(get(`${path}${path.includes("?") ? "&" : "?"}n=${i}`));
      if (i === 20) inflight.push(kv.put("current", "v-live").then(() => null));
    }
    const answers = (await Promise.all(inflight)).filter(Boolean);
    assert.equal(answers.length, 40);
    for (const a of answers) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.ok([version, "v-live"].includes(a.body.index_version), a.body.index_version);
    }
    assert.equal((await get("/api/feed?limit=1")).body.index_version, "v-live");
    await kv.put("current", version);
  });

  test("`current` naming a build of another format: this worker serves its own format's last build", async () => {
    const { pointer } = await readBuild(KV_DIR);
    assert.equal(await kv.get(pointer), version, `the seed wrote ${pointer}`);
    // A deploy uploaded a newer format's build and flipped `current` before the new worker is live.
    await kv.put("current", "v999-a-newer-format");
    try {
      for (const path of ["/api/feed?limit=3", "/api/search?q=chair&limit=3", "/api/categories"]) {
        const { status, body } = await get(path);
        assert.equal(status, 200, path);
        if (body.index_version) assert.equal(body.index_version, version, path);
      }
      // Without its own format's pointer (a build from before pointers existed) it says what is wrong.
      await kv.delete(pointer);
      const { status, body } = await get("/api/feed?limit=3");
      assert.equal(status, 503);
      assert.match(body.detail, /v999-a-newer-format\//);
    } finally {
      await kv.put(pointer, version);
      await kv.put("current", version);
    }
    assert.equal((await get("/api/feed")).status, 200);
  });

  test("an unreadable optional part (weights, locale, rules) answers with defaults, marked and never cached", async () => {
    const { entries } = await readBuild(KV_DIR);
    for (const { key, value } of entries) {
      const broken = key.endsWith("/weights") || key.endsWith("/locale");
      await kv.put(key.replace(version, "weak"), broken ? value.slice(0, 9) : value);
    }
    await kv.put("current", "weak");
    try {
      for (let i = 0; i < 2; i++) {
        const { status, res, body } = await get("/api/search?q=chair&limit=3");
        assert.equal(status, 200);
        assert.equal(body.items.length, 3);
        assert.equal(res.headers.get("x-degraded"), "weights, locale");
        assert.equal(res.headers.get("cache-control"), "no-store");
        assert.equal(res.headers.get("x-edge-cache"), null, "neither read from nor written to the edge cache");
      }
    } finally {
      await kv.put("current", version);
    }
    const whole = await get("/api/search?q=chair&limit=3");
    assert.equal(whole.res.headers.get("x-degraded"), null);
    assert.equal(whole.res.headers.get("cache-control"), "public, max-age=60");
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

describe("the edge cache", () => {
  test("history-free answers are cached per version, personal ones never", async () => {
    const path = "/api/search?q=desk&limit=3&page=2";
    const first = await get(path);
    assert.equal(first.res.headers.get("x-edge-cache"), "miss");
    const again = await untilCached(() => get(path));
    assert.deepEqual(again.body, first.body);
    assert.equal(again.res.headers.get("content-type"), "application/json");
    assert.equal(again.res.headers.get("cache-control"), "public, max-age=60");
    // Another country is another entry (prices and stock differ).
    assert.equal((await get(path + "&country=DE")).res.headers.get("x-edge-cache"), "miss");
    // The key is the parsed request: unknown, reordered or repeated parameters cannot force misses.
    for (const same of [`${path}&zz=1`, `${path}&zz=2`, "/api/search?page=2&limit=3&q=desk&q=chair"]) {
      assert.equal((await get(same)).res.headers.get("x-edge-cache"), "hit", same);
    }
    const personal = { headers: { "x-history": products[0].id } };
    for (let i = 0; i < 2; i++) {
      const p = await get("/api/search?q=desk&limit=3", personal);
      assert.equal(p.res.headers.get("x-edge-cache"), null, "a personal answer never touches the cache");
      assert.equal(p.res.headers.get("cache-control"), "private, no-store");
    }
  });
});

describe("prices and delivery in the shopper's locale", () => {
  test("the country picks the currency, ?currency= overrides it, the catalog price is kept", async () => {
    const p = products[0];
    const us = await get(`/api/products/${encodeURIComponent(p.id)}?country=US`);
    assert.equal(us.body.product.price.currency, "USD");
    assert.equal(us.body.base_price, undefined);
    const de = await get(`/api/products/${encodeURIComponent(p.id)}`, { headers: { "cf-ipcountry": "DE" } });
    assert.equal(de.body.product.price.currency, "EUR");
    assert.deepEqual(de.body.base_price, us.body.product.price);
    assert.ok(Math.abs(de.body.product.price.amount - us.body.product.price.amount * 0.91) < 0.011);
    const jp = await get(`/api/products/${encodeURIComponent(p.id)}?country=DE&currency=jpy`);
    assert.equal(jp.body.product.price.currency, "JPY");
    const feed = await get("/api/feed?limit=3&country=GB");
    assert.ok(feed.body.sections[0].items.every((i) => i.price.currency === "GBP" && i.base_price.currency === "USD"));
    const search = await get("/api/search?q=chair&limit=3&country=FR");
    assert.ok(search.body.items.every((i) => i.price.currency === "EUR"));
    // Price filters and facets are in the shopper's currency too.
    const cheap = await get("/api/search?q=chair&max_price=91&country=DE");
    assert.ok(cheap.body.items.length > 0 && cheap.body.items.every((i) => i.price.amount <= 91.01), JSON.stringify(cheap.body.items.map((i) => i.price)));
    assert.ok(cheap.body.items.every((i) => i.base_price.amount <= 100.01));
    assert.equal(cheap.body.facets.price[1].min, 9.1, "the 10 USD bucket bound shown in EUR");
    const bad = await get("/api/feed?currency=euro");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.param, "currency");
  });
});

describe("with the demo index partitioned into IVF cells", { skip: !process.env.IVF_KV_DIR }, () => {
  let ivf, ivfKv, ivfVersion;
  before(async () => {
    ivf = new Miniflare({
      scriptPath: "edge/build/index.js",
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-20",
      kvNamespaces: { SHOP: "edge-test-ivf" },
    });
    ivfKv = await ivf.getKVNamespace("SHOP");
    ({ version: ivfVersion } = await seed(ivfKv, process.env.IVF_KV_DIR));
  });
  after(() => ivf?.dispose());
  const getIvf = async (path, init) => {
    const res = await ivf.dispatchFetch(`http://shop.test${path}`, init);
    const text = await res.text();
    return { res, status: res.status, body: text ? JSON.parse(text) : null };
  };

  test("rows of a product come from its cell and the cells of its related items", async () => {
    const p = products.find((x) => mentions(x, "bookcase"));
    const res = await ivf.dispatchFetch(`http://shop.test/api/rows?ids=${encodeURIComponent(p.id)}&related=true`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body[6], 10);
    const similar = (await getIvf(`/api/products/${encodeURIComponent(p.id)}/similar`)).body.items;
    assert.ok(similar.length > 0);
    for (const s of similar) assert.ok(body.includes(Buffer.from(s.id)), `${s.id} rides along`);
    const pack = await ivf.dispatchFetch("http://shop.test/api/pack");
    assert.equal(pack.status, 200);
    assert.equal(Buffer.from(await pack.arrayBuffer())[6], 13);
  });

  test("feeds come from the routed cells: cold start and personal", async () => {
    const cold = await getIvf("/api/feed?limit=12");
    assert.equal(cold.status, 200);
    assert.equal(cold.body.index_version, ivfVersion);
    assert.deepEqual(cold.body.sections.map((s) => s.id), ["trending"]);
    assert.equal(cold.body.sections[0].items.length, 12);
    assert.equal(purchases.get(cold.body.sections[0].items[0].id), Math.max(...purchases.values()));
    const viewed = products.find((p) => mentions(p, "bookcase"));
    const other = products.find((p) => mentions(p, "binder"));
    const { status, body } = await getIvf("/api/feed?limit=8", { headers: { "x-history": `${viewed.id},${other.id}:purchase` } });
    assert.equal(status, 200);
    assert.deepEqual(body.sections.map((s) => s.id), ["for-you", "because", "trending"]);
    const all = body.sections.flatMap((s) => s.items.map((i) => i.id));
    assert.ok(!all.includes(viewed.id) && !all.includes(other.id));
    assert.equal(new Set(all).size, all.length);
  });

  test("search and suggestions read a few cells and say the counts are approximate", async () => {
    for (const q of ["chair", "chiar"]) {
      const { status, body } = await getIvf(`/api/search?q=${q}&limit=10`);
      assert.equal(status, 200, q);
      assert.equal(body.approximate, true);
      assert.ok(body.items.length === 10 && body.items.slice(0, 5).every((i) => /chair/i.test(i.title)), `${q}: ${body.items.map((i) => i.title)}`);
    }
    const flat = (await get("/api/search?q=chair&limit=10")).body;
    assert.equal(flat.approximate, false);
    const page = await getIvf("/api/search?category=furniture/bookcases&limit=5");
    assert.equal(page.status, 200);
    assert.ok(page.body.items.length > 0 && page.body.items.every((i) => i.category[1] === "Bookcases"));
    const s = await getIvf("/api/suggest?q=bookc");
    assert.equal(s.status, 200);
    assert.ok(s.body.terms.some((t) => t.startsWith("bookcase")), JSON.stringify(s.body.terms));
    assert.ok(s.body.products.length > 0);
  });

  test("related items and categories equal the unpartitioned build's", async () => {
    for (const p of products.filter((_, i) => i % 211 === 0)) {
      for (const kind of ["similar", "bought-together"]) {
        const path = `/api/products/${encodeURIComponent(p.id)}/${kind}`;
        const [a, b] = [await get(path), await getIvf(path)];
        assert.equal(b.status, 200);
        assert.deepEqual(b.body.items.map((i) => i.id), a.body.items.map((i) => i.id), `${kind} of ${p.id}`);
      }
    }
    assert.deepEqual((await getIvf("/api/categories")).body.categories, (await get("/api/categories")).body.categories);
    assert.equal((await getIvf("/api/products/NOPE-1/similar")).status, 404);
  });

  test("a missing cell is a 503 naming the key, not a crash", async () => {
    const key = `${ivfVersion}/cells/popular`;
    const value = await ivfKv.get(key, "arrayBuffer");
    // Isolate memory may still hold the cell: a new version id forces a fresh read.
    const { entries } = await readBuild(process.env.IVF_KV_DIR);
    for (const e of entries) if (!e.key.endsWith("/cells/popular")) await ivfKv.put(e.key.replace(ivfVersion, "ivf-gap"), e.value);
    await ivfKv.put("current", "ivf-gap");
    const { status, body } = await getIvf("/api/feed");
    assert.equal(status, 503);
    assert.match(body.detail, /ivf-gap\/cells\/popular/);
    await ivfKv.put("current", ivfVersion);
    assert.ok(value && (await getIvf("/api/feed")).status === 200);
  });
});

describe("the OpenAPI document", () => {
  test("every endpoint's answer has the fields its documented schema requires", async () => {
    const spec = JSON.parse(await (await import("node:fs/promises")).readFile("edge/openapi.json", "utf8"));
    const schemas = spec.components.schemas;
    const check = (value, schema, where) => {
      if (schema.$ref) schema = schemas[schema.$ref.split("/").pop()];
      if (schema.type === "object" || schema.required) {
        for (const key of schema.required ?? []) assert.ok(key in value, `${where}: missing ${key}`);
        for (const [key, sub] of Object.entries(schema.properties ?? {})) {
          if (value[key] !== undefined && value[key] !== null) check(value[key], sub, `${where}.${key}`);
        }
      } else if (schema.type === "array") {
        assert.ok(Array.isArray(value), `${where}: not an array`);
        value.slice(0, 3).forEach((v, i) => check(v, schema.items, `${where}[${i}]`));
      }
    };
    const id = encodeURIComponent(products[0].id);
    const history = { headers: { "x-history": products[1].id } };
    for (const [path, template, init] of [
      ["/api/feed?country=DE", "/api/feed"], ["/api/feed", "/api/feed", history],
      ["/api/search?q=chair&country=GB", "/api/search"], ["/api/suggest?q=cha", "/api/suggest"],
      ["/api/categories", "/api/categories"], [`/api/products/${id}?country=FR`, "/api/products/{id}"],
      [`/api/products/${id}/similar`, "/api/products/{id}/similar"],
      [`/api/products/${id}/bought-together`, "/api/products/{id}/bought-together"],
      ["/api/search?sort=cheapest", "/api/search"], ["/api/products/NOPE-1", "/api/products/{id}"],
    ]) {
      const { status, body, type } = await get(path, init);
      const doc = spec.paths[template].get.responses[String(status)];
      assert.ok(doc, `${path}: status ${status} is not documented`);
      const [ctype, media] = Object.entries(doc.content)[0];
      assert.equal(type, ctype, path);
      check(body, media.schema, path);
    }
  });
});

describe("merchandising rules", () => {
  test("a rule added by re-running the indexer changes search without redeploying the worker", async () => {
    const { execFileSync } = await import("node:child_process");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const before = (await get("/api/search?q=chair&limit=5")).body.items;
    const promoted = products.find((p) => mentions(p, "binder"));
    assert.ok(!before.some((i) => i.id === promoted.id));
    const dir = mkdtempSync(join(tmpdir(), "rules-"));
    const rules = join(dir, "rules.json");
    writeFileSync(rules, JSON.stringify({ rules: [
      { id: "binder-week", priority: 1, when: { query: "chair" }, pin: [{ product: promoted.id, position: 1 }] },
      { id: "no-tables", when: { query: "chair" }, hide: [{ category: "furniture/tables" }] },
      { id: "xmas-surprise", from: "2099-12-01T00:00:00Z", when: { query: "chair" }, hide: [{ brand: "Secretbrand" }] },
    ] }));
    execFileSync("target/debug/indexer", ["build", "--catalog", "target/xtask/demo/catalog.jsonl",
      "--interactions", "target/xtask/demo/interactions.csv", "--model", "target/models/potion-base-8M",
      "--rules", rules, "--out", join(dir, "out")], { stdio: "pipe" });
    const { version: ruled } = await seed(kv, join(dir, "out", "kv"));
    try {
      const after = (await get("/api/search?q=chair&limit=24")).body;
      assert.equal(after.index_version, ruled);
      assert.equal(after.items[0].id, promoted.id);
      assert.equal(after.items[0].why.featured, true);
      // Rules are named by number in answers and the pack: the shop's ids, and rules not yet in force,
      // never leave the edge.
      assert.deepEqual(after.items[0].why.rules, ["r1"]);
      const pack = Buffer.from(await (await mf.dispatchFetch("http://shop.test/api/pack")).arrayBuffer());
      assert.ok(pack.includes(Buffer.from(promoted.id)), "the pin rides along for the device");
      for (const secret of ["binder-week", "no-tables", "xmas-surprise", "Secretbrand"]) {
        assert.ok(!pack.includes(Buffer.from(secret)), `${secret} is in the pack`);
        assert.ok(!JSON.stringify(after).includes(secret), `${secret} is in the answer`);
      }
      assert.ok(!after.items.some((i) => i.category[1] === "Tables"), "hidden by the rule");
      assert.ok(before.slice(0, 4).every((b) => after.items.some((a) => a.id === b.id) || b.category[1] === "Tables"));
      // Other queries are untouched.
      assert.notEqual((await get("/api/search?q=paper&limit=3")).body.items[0].id, promoted.id);
    } finally {
      await kv.put("current", version);
    }
    assert.equal((await get("/api/search?q=chair&limit=5")).body.items[0].id, before[0].id);
  });
});

describe("checkout through Stripe (a local stand-in) with the order store in D1", () => {
  const SECRET_KEY = "sk_test_edge";
  const WEBHOOK_SECRET = "whsec_edge";
  let shop, stripe, db, catalog, dir;
  /** A Miniflare running the built worker on the small stocked build, with `bindings` as its secrets. */
  const shopWith = async (bindings) => {
    const m = new Miniflare({
      scriptPath: "edge/build/index.js",
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-20",
      kvNamespaces: { SHOP: "checkout-test" },
      d1Databases: { DB: "orders-test" },
      bindings,
    });
    const { join } = await import("node:path");
    await seed(await m.getKVNamespace("SHOP"), join(dir, "out", "kv"));
    return m;
  };
  const post = async (m, path, body, headers = {}) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const res = await m.dispatchFetch(`http://shop.test${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: text,
    });
    const answer = await res.text();
    return { res, status: res.status, type: res.headers.get("content-type"), body: answer ? JSON.parse(answer) : null };
  };
  const rows = async (sql) => (await db.prepare(sql).all()).results;

  before(async () => {
    const { execFileSync } = await import("node:child_process");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { startStandIn } = await import("./stripe-standin.mjs");
    // A small build whose stock says: the first product is held in the US, the second nowhere.
    catalog = products.slice(0, 40).map((p) => ({ ...p }));
    catalog[0].stock = { US: 3 };
    catalog[1].stock = { US: 0, DE: 0 };
    dir = mkdtempSync(join(tmpdir(), "checkout-"));
    writeFileSync(join(dir, "catalog.jsonl"), catalog.map((p) => JSON.stringify(p)).join("\n"));
    execFileSync("target/debug/indexer", ["build", "--catalog", join(dir, "catalog.jsonl"), "--out", join(dir, "out")], { stdio: "pipe" });
    stripe = await startStandIn({ secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET, shopUrl: "http://unused" });
    shop = await shopWith({ STRIPE_SECRET_KEY: SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: stripe.url });
    db = await shop.getD1Database("DB");
    await migrate(db);
  });
  after(async () => {
    await shop?.dispose();
    await stripe?.close();
  });

  test("a cart becomes a Checkout Session priced by the edge; a price in the request changes nothing", async () => {
    const status = await shop.dispatchFetch("http://shop.test/api/checkout");
    assert.deepEqual(await status.json(), { enabled: true });
    const [a, b] = [catalog[0], catalog[2]];
    const asked = stripe.requests.length;
    const { status: code, body, res } = await post(shop, "/api/checkout?country=DE", {
      lines: [{ id: a.id, quantity: 2, price: 0.01, unit_amount: 1 }, { id: b.id, quantity: 1 }],
      locale: "de",
    });
    assert.equal(code, 200, JSON.stringify(body));
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(stripe.requests.length, asked + 1, "one session request");
    const sent = stripe.requests.at(-1);
    assert.equal(sent.headers.authorization, `Bearer ${SECRET_KEY}`);
    assert.match(sent.headers["content-type"], /^application\/x-www-form-urlencoded/);
    // The edge's own price of each product for a shopper in Germany, in cents.
    const cents = async (p) => {
      const r = await shop.dispatchFetch(`http://shop.test/api/products/${encodeURIComponent(p.id)}?country=DE`);
      const price = (await r.json()).product.price;
      assert.equal(price.currency, "EUR");
      return String(Math.round(price.amount * 100));
    };
    assert.deepEqual(sent.form, [
      ["mode", "payment"],
      ["success_url", "http://shop.test/checkout/done?session_id={CHECKOUT_SESSION_ID}"],
      ["cancel_url", "http://shop.test/cart?checkout=cancelled"],
      ["locale", "de"],
      ["line_items[0][price_data][currency]", "eur"],
      ["line_items[0][price_data][unit_amount]", await cents(a)],
      ["line_items[0][price_data][product_data][name]", a.title],
      ["line_items[0][quantity]", "2"],
      ["metadata[line_0]", `2*${a.id}`],
      ["line_items[1][price_data][currency]", "eur"],
      ["line_items[1][price_data][unit_amount]", await cents(b)],
      ["line_items[1][price_data][product_data][name]", b.title],
      ["line_items[1][quantity]", "1"],
      ["metadata[line_1]", `1*${b.id}`],
    ]);
    assert.ok(Number(await cents(a)) > 1, "the tampered price was not used");
    const session = [...stripe.sessions.values()].at(-1);
    assert.equal(body.url, session.url);
  });

  test("carts that cannot be paid get 400 problem+json naming the line, and never reach Stripe", async () => {
    const asked = stripe.requests.length;
    const [a, gone] = [catalog[0], catalog[1]];
    const cases = [
      [{ lines: [] }, "lines"],
      [{ lines: [{ id: a.id, quantity: 1 }, { id: "NO-SUCH-ID", quantity: 1 }] }, "lines[1].id"],
      [{ lines: [{ id: a.id, quantity: 0 }] }, "lines[0].quantity"],
      [{ lines: [{ id: a.id, quantity: 100 }] }, "lines[0].quantity"],
      [{ lines: [{ id: a.id, quantity: -1 }] }, "lines[0].quantity"],
      [{ lines: [{ id: a.id, quantity: "2" }] }, "lines[0].quantity"],
      [{ lines: [{ id: gone.id, quantity: 1 }] }, "lines[0].id"],
      [{ lines: [{ id: a.id, quantity: 1 }, { id: a.id, quantity: 1 }] }, "lines[1].id"],
      [{ lines: [{ id: a.id, quantity: 1 }], locale: "tlh" }, "locale"],
      ['{"lines": [', "lines"],
    ];
    for (const [cart, param] of cases) {
      const { status, type, body } = await post(shop, "/api/checkout", cart);
      assert.equal(status, 400, `${JSON.stringify(cart)}: ${JSON.stringify(body)}`);
      assert.equal(type, "application/problem+json");
      assert.equal(body.param, param, JSON.stringify(cart));
      assert.equal(body.type, "/docs/problems#bad-body");
    }
    const outOfStock = await post(shop, "/api/checkout?country=US", { lines: [{ id: gone.id, quantity: 1 }] });
    assert.match(outOfStock.body.detail, /out of stock for delivery to US/);
    const plain = await post(shop, "/api/checkout", JSON.stringify({ lines: [] }), { "content-type": "text/plain" });
    assert.equal(plain.body.param, "Content-Type");
    const huge = await post(shop, "/api/checkout", { lines: [{ id: "x".repeat(20_000), quantity: 1 }] });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.param, "body");
    const put = await shop.dispatchFetch("http://shop.test/api/checkout", { method: "PUT" });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, HEAD, POST");
    assert.equal(stripe.requests.length, asked, "no bad cart reached Stripe");
  });

  test("the webhook records a signed paid order once, with nothing about the buyer", async () => {
    const { signature } = await import("./stripe-standin.mjs");
    const [a, b] = [catalog[0], catalog[3]];
    const event = JSON.stringify({
      id: "evt_edge_1",
      object: "event",
      type: "checkout.session.completed",
      data: { object: { id: "cs_test_x", object: "checkout.session", payment_status: "paid",
        customer_details: { email: "buyer@example.com" }, metadata: { line_0: `2*${a.id}`, line_1: `1*${b.id}` } } },
    });
    const deliver = (body, sig = signature(WEBHOOK_SECRET, body)) =>
      post(shop, "/api/stripe/webhook", body, { "stripe-signature": sig });
    const first = await deliver(event);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { received: true, recorded: true });
    const replay = await deliver(event);
    assert.deepEqual(replay.body, { received: true, recorded: false }, "a repeated delivery is not counted");
    assert.deepEqual(await rows("SELECT count(*) AS n FROM orders"), [{ n: 1 }]);
    const lines = await rows("SELECT item_id, quantity FROM order_lines ORDER BY item_id");
    assert.deepEqual(lines, [{ item_id: a.id, quantity: 2 }, { item_id: b.id, quantity: 1 }].sort((x, y) => x.item_id < y.item_id ? -1 : 1));
    const stored = JSON.stringify([...await rows("SELECT * FROM stripe_events"), ...await rows("SELECT * FROM orders")]);
    for (const secret of ["evt_edge_1", "cs_test_x", "buyer@example.com"]) assert.ok(!stored.includes(secret), `${secret} stored`);
    const day = Math.floor(Date.now() / 86_400_000);
    assert.ok((await rows("SELECT day FROM orders"))[0].day >= day - 1);

    // Refused: a wrong signature, one too old, a missing one, and a signed body that is no event.
    const old = Math.floor(Date.now() / 1000) - 301;
    const other = event.replace("evt_edge_1", "evt_edge_2");
    for (const [body, sig, param] of [
      [other, signature("whsec_wrong", other), "Stripe-Signature"],
      [other, signature(WEBHOOK_SECRET, other, old), "Stripe-Signature"],
      [other, "", "Stripe-Signature"],
      ["{not json", signature(WEBHOOK_SECRET, "{not json"), "body"],
    ]) {
      const r = await deliver(body, sig);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.type, "application/problem+json");
      assert.equal(r.body.param, param);
    }
    assert.deepEqual(await rows("SELECT count(*) AS n FROM orders"), [{ n: 1 }], "nothing stored from a refused delivery");
    // An event that reports no payment is acknowledged and recorded nowhere.
    const unpaid = other.replace('"paid"', '"unpaid"');
    assert.deepEqual((await deliver(unpaid)).body, { received: true, recorded: false });
    assert.equal((await shop.dispatchFetch("http://shop.test/api/stripe/webhook")).status, 405);
  });

  test("paid orders teach the next build what is bought together", async () => {
    const { signature } = await import("./stripe-standin.mjs");
    const { execFileSync } = await import("node:child_process");
    const { writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const [a, b] = [catalog[5], catalog[6]];
    const before = await (await shop.dispatchFetch(`http://shop.test/api/products/${encodeURIComponent(a.id)}/bought-together`)).json();
    assert.ok(!before.items.some((i) => i.id === b.id), "the build has no orders yet");
    for (let n = 0; n < 3; n++) {
      const event = JSON.stringify({ id: `evt_loop_${n}`, type: "checkout.session.completed",
        data: { object: { payment_status: "paid", metadata: { line_0: `1*${a.id}`, line_1: `2*${b.id}` } } } });
      const r = await post(shop, "/api/stripe/webhook", event, { "stripe-signature": signature(WEBHOOK_SECRET, event) });
      assert.equal(r.body.recorded, true);
    }
    // What `wrangler d1 execute shopfront --json --command "<the query>"` prints, from the same database.
    const query = "SELECT orders.id AS order_id, day, item_id, quantity FROM order_lines JOIN orders ON orders.id = order_id ORDER BY order_id";
    const exported = [{ results: (await db.prepare(query).all()).results, success: true, meta: {} }];
    writeFileSync(join(dir, "orders.json"), JSON.stringify(exported));
    execFileSync("target/debug/indexer", ["import", "orders", join(dir, "orders.json"), "--out", join(dir, "learned")], { stdio: "pipe" });
    execFileSync("target/debug/indexer", ["build", "--catalog", join(dir, "catalog.jsonl"), "--interactions",
      join(dir, "learned", "interactions.csv"), "--out", join(dir, "learned-build")], { stdio: "pipe" });
    const kv = await shop.getKVNamespace("SHOP");
    await seed(kv, join(dir, "learned-build", "kv"));
    const after = await (await shop.dispatchFetch(`http://shop.test/api/products/${encodeURIComponent(a.id)}/bought-together`)).json();
    assert.equal(after.items[0]?.id, b.id, JSON.stringify(after.items.map((i) => i.id)));
  });

  test("without a Stripe key the shop takes no payments: 501, and the app is told to hide checkout", async () => {
    const bare = await shopWith({});
    try {
      assert.deepEqual(await (await bare.dispatchFetch("http://shop.test/api/checkout")).json(), { enabled: false });
      const r = await post(bare, "/api/checkout", { lines: [{ id: catalog[0].id, quantity: 1 }] });
      assert.equal(r.status, 501);
      assert.equal(r.body.type, "/docs/problems#checkout-not-configured");
      assert.equal((await post(bare, "/api/stripe/webhook", "{}", { "stripe-signature": "t=1,v1=00" })).status, 501);
    } finally {
      await bare.dispose();
    }
    // A key Stripe refuses: the shopper gets 502, not Stripe's words or a hung request.
    const wrong = await shopWith({ STRIPE_SECRET_KEY: "sk_test_revoked", STRIPE_API_BASE: stripe.url });
    try {
      const r = await post(wrong, "/api/checkout", { lines: [{ id: catalog[0].id, quantity: 1 }] });
      assert.equal(r.status, 502);
      assert.equal(r.body.type, "/docs/problems#payment-provider");
      assert.ok(!r.body.detail.includes("Invalid API Key"));
    } finally {
      await wrong.dispose();
    }
  });
});

describe("shop events for experiments, stored in D1", () => {
  let shop, db;
  const send = async (batch, { cookie = "sf_cid=client-one-0123456789", type = "application/json" } = {}) => {
    const res = await shop.dispatchFetch("http://shop.test/api/events", {
      method: "POST",
      headers: { cookie, "content-type": type },
      body: typeof batch === "string" ? batch : JSON.stringify(batch),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get("content-type"), body: text ? JSON.parse(text) : null };
  };
  const count = async () => (await db.prepare("SELECT count(*) AS n FROM events").first()).n;
  const id = (n) => `${n}`.padStart(24, "x");
  const now = () => Math.floor(Date.now() / 1000);
  const event = (kind, item, extra = {}) => ({ kind, surface: "home", list: "trending", item, position: 2, at: now(), ...extra });

  before(async () => {
    shop = new Miniflare({
      scriptPath: "edge/build/index.js",
      modules: true,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2026-04-20",
      kvNamespaces: { SHOP: "events-test" },
      d1Databases: { DB: "events-test" },
      bindings: { EVENT_RETENTION_DAYS: "90" },
    });
    await seed(await shop.getKVNamespace("SHOP"), KV_DIR);
    db = await shop.getD1Database("DB");
    await migrate(db);
  });
  after(() => shop?.dispose());

  test("a batch is stored once, with the variant of the client id and never the id itself", async () => {
    const [a, b] = [products[0].id, products[1].id];
    const batch = { batch: id("batch-1"), session: id("session-1"), events: [
      event("impression", a), event("click", a), event("add_to_cart", a, { surface: "product", list: undefined, position: undefined }),
      event("wishlist", b, { surface: "product" }), event("checkout_intent", b, { surface: "cart" }),
    ] };
    const first = await send(batch);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual(first.body, { accepted: 5, stored: true });
    const retry = await send(batch);
    assert.deepEqual([retry.status, retry.body], [202, { accepted: 5, stored: false }], "a retry is not counted twice");
    assert.equal(await count(), 5);
    // The variant is the one the edge ranks this client's answers with.
    const feed = await (await shop.dispatchFetch("http://shop.test/api/feed?limit=1", { headers: { cookie: "sf_cid=client-one-0123456789" } })).json();
    const rows = (await db.prepare("SELECT * FROM events ORDER BY rowid").all()).results;
    assert.ok(rows.every((r) => r.variant === feed.variant), JSON.stringify(rows));
    assert.deepEqual(rows.map((r) => r.kind), ["impression", "click", "add_to_cart", "wishlist", "checkout_intent"]);
    assert.deepEqual([rows[0].surface, rows[0].list, rows[0].position, rows[2].list], ["home", "trending", 2, null]);
    assert.ok(!JSON.stringify(rows).includes("client-one"), "the client id is not stored");
    // sendBeacon's text/plain is read as JSON too.
    const beacon = await send({ ...batch, batch: id("batch-2") }, { type: "text/plain;charset=UTF-8" });
    assert.equal(beacon.status, 202);
    assert.equal(await count(), 10);
  });

  test("clients split across the build's variants", async () => {
    const seen = new Set();
    for (let n = 0; n < 40 && seen.size < 2; n++) {
      const feed = await (await shop.dispatchFetch("http://shop.test/api/feed?limit=1", { headers: { cookie: `sf_cid=${id(`client-${n}`)}` } })).json();
      seen.add(feed.variant);
    }
    assert.deepEqual([...seen].sort(), ["control", "personal"]);
  });

  test("bad batches get 400 problem+json naming the field and store nothing", async () => {
    const before = await count();
    const good = (events) => ({ batch: id(`bad-${Math.random()}`).slice(0, 40).replace(/\./g, "x"), session: id("session-9"), events });
    const item = products[3].id;
    const cases = [
      [good([event("click", "NO-SUCH-PRODUCT")]), "events[0].item"],
      [good([event("click", item), event("click", item, { at: now() + 3600 })]), "events[1].at"],
      [good([event("click", item, { at: now() - 30 * 86400 })]), "events[0].at"],
      [good([event("purchase", item)]), "events[0].kind"],
      [good([event("click", item, { surface: "moon" })]), "events[0].surface"],
      [good([]), "events"],
      [good(Array.from({ length: 101 }, () => event("impression", item))), "events"],
      [{ ...good([event("click", item)]), batch: "short" }, "batch"],
      ['{"batch": "', "batch"],
    ];
    for (const [batch, param] of cases) {
      const r = await send(batch);
      assert.equal(r.status, 400, `${param}: ${JSON.stringify(r.body)}`);
      assert.equal(r.type, "application/problem+json");
      assert.equal(r.body.param, param);
    }
    const html = await send(good([event("click", item)]), { type: "text/html" });
    assert.equal(html.body.param, "Content-Type");
    const huge = await send(good(Array.from({ length: 100 }, () => event("impression", item, { list: "x".repeat(30), item: item + " ".repeat(300) }))));
    assert.equal(huge.status, 413);
    assert.equal(await count(), before, "nothing stored from a bad batch");
  });

  test("the daily cron deletes events older than the retention window", async () => {
    const today = Math.floor(Date.now() / 86_400_000);
    await db.prepare("INSERT INTO events (day, at, session, variant, surface, kind, list, item_id, position) VALUES (?1, 0, 's', 'control', 'home', 'click', NULL, 'x', NULL)").bind(today - 91).run();
    await db.prepare("INSERT INTO event_batches (batch_id, day) VALUES ('old-batch-0000000000', ?1)").bind(today - 91).run();
    const kept = await count();
    const worker = await shop.getWorker();
    await worker.scheduled({ cron: "17 3 * * *" });
    assert.equal(await count(), kept - 1, "only the old event went");
    assert.equal((await db.prepare("SELECT count(*) AS n FROM event_batches WHERE day < ?1").bind(today - 90).first()).n, 0);
  });

  test("synthetic traffic → D1 export → `indexer experiments` shows the variants' difference; export → import → build → eval runs", async () => {
    const { simulate } = await import("../../xtask/traffic.mjs");
    const { execFileSync } = await import("node:child_process");
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    await db.prepare("DELETE FROM events").run();
    const ask = (path, init) => shop.dispatchFetch(`http://shop.test${path}`, init);
    const { sent, statuses } = await simulate({ ask, sessions: 300, products, seed: 7 });
    assert.ok(statuses.every((s) => s === 202), JSON.stringify(statuses.filter((s) => s !== 202)));
    const dir = mkdtempSync(join(tmpdir(), "experiments-"));
    // What `wrangler d1 execute shopfront --json --command "<query>"` prints (the query `indexer experiments` names).
    const query = "SELECT day, at, session, variant, surface, kind, list, item_id, position FROM events ORDER BY at";
    writeFileSync(join(dir, "events.json"), JSON.stringify([{ results: (await db.prepare(query).all()).results, success: true, meta: {} }]));
    const report = JSON.parse(execFileSync("target/debug/indexer", ["experiments", join(dir, "events.json"), "--json", "--out", join(dir, "report")], { encoding: "utf8" }));
    assert.equal(report.control, "control");
    assert.deepEqual(report.variants.map((v) => v.name), ["control", "personal"]);
    for (const v of report.variants) {
      assert.equal(v.sessions, sent[v.name].sessions, `${v.name}: sessions`);
      assert.equal(v.impressions, sent[v.name].impressions, `${v.name}: every impression stored once`);
      assert.equal(v.click_through.hits, sent[v.name].clicks);
      assert.ok(v.click_through.low <= v.click_through.rate && v.click_through.rate <= v.click_through.high);
      assert.ok(v.add_to_cart.low <= v.add_to_cart.rate && v.add_to_cart.rate <= v.add_to_cart.high);
    }
    assert.equal(report.sample_ratio_mismatch, false);
    // The simulated shoppers want the viewed product's kind: the variant that follows the history
    // (collaborative and similarity weights) must win, significantly.
    const personal = report.variants[1];
    console.log(`# synthetic traffic: click-through control ${report.variants[0].click_through.rate.toFixed(4)}, personal ${personal.click_through.rate.toFixed(4)} (uplift ${(personal.click_through_uplift.relative * 100).toFixed(1)}%, p ${personal.click_through_uplift.p_value.toExponential(2)})`);
    assert.ok(personal.click_through_uplift.relative > 0 && personal.click_through_uplift.p_value < 0.05, JSON.stringify(personal));
    // The loop: the events become interactions, the next build learns from them, and eval runs on them.
    execFileSync("target/debug/indexer", ["import", "events", join(dir, "events.json"), "--with", "target/xtask/demo/interactions.csv", "--out", join(dir, "learned")], { stdio: "pipe" });
    execFileSync("target/debug/indexer", ["build", "--catalog", "target/xtask/demo/catalog.jsonl", "--interactions", join(dir, "learned", "interactions.csv"), "--out", join(dir, "build")], { stdio: "pipe" });
    const evaluation = JSON.parse(execFileSync("target/debug/indexer", ["eval", "--catalog", "target/xtask/demo/catalog.jsonl", "--interactions", join(dir, "learned", "interactions.csv"), "--json"], { encoding: "utf8" }));
    assert.ok(Object.keys(evaluation).length > 0);
  });
});
