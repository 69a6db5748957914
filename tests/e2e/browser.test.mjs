//! The built app in headless Chromium against `wrangler dev` (workerd, local KV seeded by the indexer).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, BASE_URL, api, d1, launch, proxy, variantOf } from "./browser.mjs";
import { mentions } from "./demo.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await browser?.context.close();
  assert.deepEqual(browser?.errors ?? [], [], "no errors in the page console");
});

const cards = (page) => page.locator("[data-testid=product-grid] li");
/** The home feed as the edge answered it (the device's own ranking may show first). */
const edgeFeed = (page) => page.locator("section[data-source=edge]").first().waitFor();

test("home shows the feed's sections", async () => {
  const { page } = browser;
  const feed = await api("/api/feed?limit=12");
  // The edge prerenders this feed into the page, so the first grid needs no wasm.
  const html = await (await fetch(BASE_URL + "/")).text();
  const prerendered = [...html.matchAll(/<span class="card-title">([^<]*)<\/span>/g)].map((m) => m[1]);
  const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  assert.deepEqual(prerendered, feed.sections.flatMap((s) => s.items.map((i) => esc(i.title))));
  await page.goto(BASE_URL + "/", { waitUntil: "commit" });
  await page.locator(".grid li").first().waitFor();
  await page.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0);
  const paint = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0].startTime);
  await edgeFeed(page);
  // The app starts once the prerendered page has loaded, and takes the grid over.
  await page.waitForFunction(() => !document.getElementById("prerender"));
  const items = feed.sections.flatMap((s) => s.items);
  const edge = page.locator("section[data-source=edge] [data-testid=product-grid] li");
  assert.equal(await edge.count(), items.length);
  assert.equal((await edge.first().locator(".card-title").textContent()).trim(), items[0].title);
  assert.deepEqual(await page.locator("section[data-source] h2").allTextContents(), feed.sections.map((s) => s.title));
  const booted = await page.evaluate(() => performance.now());
  console.log(`# first product grid (first contentful paint) ${Math.round(paint)} ms; app's own grid by ${Math.round(booted)} ms`);
  // Images have explicit dimensions (no layout shift); those above the fold load at once, the first
  // with high priority (the largest paint), the rest lazily. Prerendered and app grids alike.
  const img = cards(page).first().locator("img");
  assert.equal(await img.getAttribute("width"), "240");
  assert.equal(await img.getAttribute("height"), "240");
  const loading = async (i) => {
    const el = page.locator("[data-testid=product-grid] img").nth(i);
    return [await el.getAttribute("loading"), await el.getAttribute("fetchpriority")];
  };
  assert.deepEqual(await loading(0), [null, "high"]);
  assert.deepEqual(await loading(3), [null, null]);
  assert.deepEqual(await loading(4), ["lazy", null]);
  assert.equal(html.match(/fetchpriority="high"/g)?.length, 1, "one high-priority image in the prerendered page");
  assert.ok(!html.slice(0, html.indexOf('fetchpriority="high"')).includes('loading="lazy"'), "the first image is not lazy");
  await page.screenshot({ path: join(ARTIFACTS, "home-phone.png") });
});

/** Polls `check` for up to 10 s. */
async function expectEventually(check) {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((ok) => setTimeout(ok, 100));
  assert.ok(check());
}

/** Elements as comparable text: tag, sorted attributes, children, text with its runs of white
 * space as one (and none next to a tag); comments and the adopted content's box-less wrapper left
 * out. */
const NORMALIZE = `(function normalize(node) {
  const walk = (node) => {
    if (node.nodeType === 3) return node.textContent;
    if (node.nodeType !== 1) return "";
    const inner = [...node.childNodes].map(walk).join("");
    if (node.classList.contains("adopted")) return inner;
    const attrs = [...node.attributes].map((a) => a.name + "=" + a.value).sort().join(" ");
    return "<" + node.localName + (attrs ? " " + attrs : "") + ">" + inner + "</" + node.localName + ">";
  };
  return walk(node).replace(/\\s+/g, " ").replace(/ ?(<[^>]*>) ?/g, "$1").trim();
})`;

test("the first grid is the final one: the app takes the prerendered nodes over, nothing moves", async () => {
  const fresh = await launch();
  const { page } = fresh;
  try {
    await page.addInitScript(() => {
      // The first prerendered card as the HTML parser inserts it, before any of the page's scripts.
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) {
          if (!window.__firstCard && n.nodeType === 1 && n.matches("#prerender li.card")) window.__firstCard = n;
        }
      }).observe(document, { childList: true, subtree: true });
      window.__lcp = [];
      window.__shift = 0;
      new PerformanceObserver((l) => window.__lcp.push(...l.getEntries())).observe({ type: "largest-contentful-paint", buffered: true });
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
      }).observe({ type: "layout-shift", buffered: true });
    });
    await page.goto(BASE_URL + "/");
    // The app has started: its device-ranking hook is there and the prerender's frame is gone.
    await page.waitForFunction(() => typeof window.shopfrontDeviceFeed === "function" && !document.getElementById("prerender"));
    await page.waitForTimeout(500);
    const seen = await page.evaluate(() => ({
      caught: !!window.__firstCard,
      same: document.querySelector("main#main li.card") === window.__firstCard,
      connected: window.__firstCard?.isConnected,
      lcp: window.__lcp.map((e) => ({ at: Math.round(e.startTime), kept: !!e.element?.isConnected })),
      shift: window.__shift,
      headers: document.querySelectorAll("header.site-header").length,
      headings: document.querySelectorAll("main h1").length,
    }));
    assert.ok(seen.caught, "the page was prerendered");
    assert.ok(seen.same && seen.connected, "the first card on screen is the node the edge sent");
    assert.ok(seen.lcp.length > 0 && seen.lcp.every((e) => e.kept), `every largest paint is still on screen: ${JSON.stringify(seen.lcp)}`);
    assert.ok(seen.shift <= 0.02, `layout shift ${seen.shift}`);
    assert.deepEqual([seen.headers, seen.headings], [1, 1], "one header and one heading once the app runs");
    console.log(`# largest paint at ${seen.lcp.at(-1).at} ms, kept; layout shift ${seen.shift.toFixed(4)}`);
    // The adopted markup is the app's own: leaving and coming back renders the same answer anew.
    const adopted = await page.evaluate(`${NORMALIZE}(document.querySelector("main#main"))`);
    await page.locator(".site-nav a[href='/cart']").click();
    await page.locator("main h1").first().waitFor();
    await page.goBack();
    await page.locator("section[data-source=edge] li.card").first().waitFor();
    const rendered = await page.evaluate(`${NORMALIZE}(document.querySelector("main#main"))`);
    assert.notEqual(await page.evaluate(() => document.querySelector("main#main li.card") === window.__firstCard), true);
    assert.equal(adopted, rendered);
    // The adopted cards are measured as the app's own are: impressions, and a click with its place.
    const events = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/events")) events.push(...JSON.parse(r.postData()).events);
    });
    await page.reload();
    await page.waitForFunction(() => typeof window.shopfrontDeviceFeed === "function" && !document.getElementById("prerender"));
    const first = page.locator("main#main .adopted li.card").nth(1);
    const id = await first.getAttribute("data-id");
    await first.locator("a").click();
    await page.getByTestId("add-to-cart").waitFor();
    await page.getByRole("link", { name: /Cart/ }).click();
    await page.waitForFunction(() => !JSON.parse(localStorage.getItem("sf.events") ?? "{}").open?.length);
    await expectEventually(() => events.some((e) => e.kind === "click"));
    const click = events.find((e) => e.kind === "click");
    assert.deepEqual([click.item, click.position], [id, 1]);
    assert.ok(events.some((e) => e.kind === "impression" && e.item === id && e.list === click.list && e.position === 1),
      JSON.stringify(events.slice(0, 3)));
  } finally {
    await fresh.context.close();
  }
  assert.deepEqual(fresh.errors, [], "no errors in the page console");
});

test("search, category and product pages paint their content from the HTML, and the app's own is the same", async () => {
  const fresh = await launch();
  const { page } = fresh;
  const item = (await api("/api/feed?limit=1")).sections[0].items[0];
  // Page, and the part of its main content to compare (a product's related items come later, below).
  const pages = [["/search?q=chair", " section.results"], ["/c/furniture", ""], [`/p/${encodeURIComponent(item.id)}`, " article.product"]];
  try {
    await page.addInitScript(() => {
      window.__shift = 0;
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
      }).observe({ type: "layout-shift", buffered: true });
    });
    for (const [path, part] of pages) {
      const html = await (await page.goto(BASE_URL + path)).text();
      assert.match(html, /<div id="prerender" data-path="[^"]+"><header/, `${path} is prerendered`);
      const prerendered = await page.evaluate(
        `${NORMALIZE}(new DOMParser().parseFromString(${JSON.stringify(html)}, "text/html").querySelector(${JSON.stringify(`#prerender main${part}`)}))`,
      );
      assert.ok(prerendered.length > 200, `${path}: content in the HTML`);
      await page.waitForFunction(() => typeof window.shopfrontDeviceFeed === "function" && !document.getElementById("prerender"));
      await page.waitForTimeout(300);
      const own = await page.evaluate(`${NORMALIZE}(document.querySelector(${JSON.stringify(`main#main${part}`)}))`);
      // The main element itself differs (the app's has its id); what is in it may not.
      const inside = (html) => html.replace(/^<main[^>]*>|<\/main>$/g, "");
      // The only difference: a product's buttons are disabled until the app (which keeps the cart) runs.
      assert.equal(inside(own), inside(prerendered).replace(/ disabled=(?=[ >])/g, ""), `${path}: the app shows what the HTML showed`);
      const shift = await page.evaluate(() => window.__shift);
      assert.ok(shift <= 0.02, `${path}: layout shift ${shift}`);
    }
  } finally {
    await fresh.context.close();
  }
  assert.deepEqual(fresh.errors, [], "no errors in the page console");
});

test("clicking a product opens its page without a reload", async () => {
  const { page } = browser;
  await page.goto(BASE_URL + "/");
  await cards(page).first().waitFor();
  await page.evaluate(() => { window.__noReload = true; });
  const title = (await cards(page).nth(1).locator(".card-title").textContent()).trim();
  await cards(page).nth(1).locator("a").click();
  await page.waitForURL(/\/p\/[^/]+$/);
  await page.locator("article.product h1").waitFor();
  assert.equal((await page.locator("article.product h1").textContent()).trim(), title);
  assert.equal(await page.evaluate(() => window.__noReload), true, "client-side navigation, no reload");
  const id = decodeURIComponent(new URL(page.url()).pathname.slice(3));
  assert.equal((await api(`/api/products/${encodeURIComponent(id)}`)).product.title, title);
  await page.screenshot({ path: join(ARTIFACTS, "product-phone.png") });
  await page.goBack();
  await page.waitForURL(BASE_URL + "/");
  await cards(page).first().waitFor();
});

test("searching 'chair' shows chairs", async () => {
  const { page } = browser;
  // No history: the expected order is the edge's history-free answer.
  await freshDevice(page);
  await page.getByLabel("Search products").fill("chair");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/search\?q=chair$/);
  // The device's own ranking of the products it holds may show first.
  await page.locator("[data-source=edge]").first().waitFor();
  const expected = await api("/api/search?q=chair");
  assert.match(await page.locator("h1").textContent(), new RegExp(`^${expected.total} results`));
  const titles = (await cards(page).locator(".card-title").allTextContents()).map((t) => t.trim());
  assert.deepEqual(titles, expected.items.map((i) => i.title));
  const categories = await cards(page).locator(".category").allTextContents();
  titles.forEach((title, i) => assert.ok(mentions({ title, category: [categories[i]] }, "chair"), title));
  await page.screenshot({ path: join(ARTIFACTS, "search-phone.png") });
});

test("a product URL opened directly renders the product (SPA fallback)", async () => {
  const { page } = browser;
  const top = (await api("/api/feed?limit=1")).sections[0].items[0];
  await page.goto(`${BASE_URL}/p/${encodeURIComponent(top.id)}`);
  await page.locator("article.product h1").waitFor();
  assert.equal((await page.locator("article.product h1").textContent()).trim(), top.title);
});

test("an unknown product shows a friendly message, not a crash", async () => {
  const { page } = browser;
  await page.goto(`${BASE_URL}/p/NO-SUCH-PRODUCT`);
  await page.locator("[role=alert]").waitFor();
  assert.match(await page.locator("[role=alert]").textContent(), /couldn't find/);
  assert.equal(await page.getByRole("button", { name: "Try again" }).count(), 1);
});

test("product pages carry SEO tags and a CSP that still lets the app run", async () => {
  const { page } = browser;
  const item = (await api("/api/feed?limit=1")).sections[0].items[0];
  const url = `${BASE_URL}/p/${encodeURIComponent(item.id)}`;
  const res = await fetch(url, { headers: { accept: "text/html" } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  const html = await res.text();
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  assert.ok(html.includes(`<title>${esc(item.title)} · Shopfront</title>`), html.slice(0, 600));
  assert.ok(html.includes(`<link rel="canonical" href="${url}">`));
  assert.ok(html.includes(`<meta property="og:title" content="${esc(item.title)}">`));
  const ld = JSON.parse(html.match(/<script type="application\/ld\+json">(.*?)<\/script>/s)[1]);
  assert.equal(ld["@type"], "Product");
  assert.equal(ld.sku, item.id);
  assert.equal(ld.offers.priceCurrency, "USD");
  const csp = res.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/=]+'/);
  assert.ok(!csp.includes("unsafe-inline"), csp);
  // Pages served straight from assets carry the same policy (from _headers).
  assert.equal((await fetch(BASE_URL + "/")).headers.get("content-security-policy"), csp);
  // The app boots and renders under the policy: a violation would be a console error (checked after).
  await page.goto(url);
  await page.locator("h1").first().waitFor();
  assert.equal((await page.locator("h1").first().textContent()).trim(), item.title);
  assert.equal(res.headers.get("cache-control"), "public, max-age=60");
  const missing = await fetch(`${BASE_URL}/p/NOPE-404`);
  assert.equal(missing.status, 404);
  // The product may be listed by the next build: a 404 is never kept by a shared cache.
  assert.equal(missing.headers.get("cache-control"), "no-store");
  assert.match(await missing.text(), /<title>Shopfront<\/title>/);
});

// ---- On the device: history, personalization, cart, wishlist, settings, offline ----

/**
 * A client id in the demo's `control` variant: tests that look for a particular section ("Because you
 * viewed …", which the `personal` variant's "For you" may absorb) must not depend on the random draw.
 */
const CONTROL_ID = (() => {
  for (let n = 0; ; n++) {
    const id = n.toString(16).padStart(32, "0");
    if (variantOf(id, ["control", "personal"]) === "control") return id;
  }
})();

/** Starts from an empty device (no history, cart, wishlist or settings), in the `control` variant. */
async function freshDevice(page) {
  await page.goto(BASE_URL + "/settings");
  await page.evaluate((id) => {
    localStorage.clear();
    localStorage.setItem("sf.cid", JSON.stringify(id));
  }, CONTROL_ID);
  await page.goto(BASE_URL + "/");
  await cards(page).first().waitFor();
}

/** Records every API request the page makes (URL and whether it carried a history). */
function recordRequests(page) {
  const seen = [];
  const onRequest = (r) => {
    if (!r.url().includes("/api/")) return;
    const url = new URL(r.url());
    seen.push({ path: url.pathname, history: r.headers()["x-history"] ?? url.searchParams.get("history") });
  };
  page.on("request", onRequest);
  return { seen, stop: () => page.off("request", onRequest) };
}

test("after a product view the home feed re-ranks on the device, with the edge's scores", async () => {
  const { page } = browser;
  await freshDevice(page);
  await edgeFeed(page);
  const second = (await cards(page).nth(1).locator(".card-title").textContent()).trim();
  const rows = page.waitForResponse((r) => r.url().includes("/api/rows"));
  await cards(page).nth(1).locator("a").click();
  await page.locator("article.product h1").waitFor();
  await rows;
  // No network for the feed: whatever the home shows now was ranked in this tab.
  await page.route("**/api/feed*", (route) => route.abort());
  await page.locator("a.brand").click();
  const because = page.locator("section[data-section=because][data-source=device] h2");
  await because.waitFor();
  assert.equal((await because.textContent()).trim(), `Because you viewed ${second}`);
  assert.ok(await page.locator("section[data-section=for-you][data-source=device] li").count() > 0);
  // Result lists too: while a slow edge answers, the device's ranking shows at once, then the edge's.
  await page.route("**/api/search*", (route) => setTimeout(() => route.continue().catch(() => {}), 2000));
  await page.locator("#q").fill("paper");
  await page.keyboard.press("Enter");
  await page.locator("[data-source=device] [data-testid=result-count]").waitFor({ timeout: 1500 });
  assert.ok(await cards(page).count() > 0);
  await page.locator("[data-source=edge] [data-testid=result-count]").waitFor();
  await page.unroute("**/api/search*");
  await page.locator("a.brand").click();
  await page.unroute("**/api/feed*");

  // The same history and candidates at the edge give the same scores.
  const history = JSON.parse(await page.evaluate(() => localStorage.getItem("sf.history")));
  assert.equal(history[0][0], (await api("/api/feed?limit=12")).sections[0].items[1].id);
  const header = history.map(([id, e]) => `${id}:${e}`).join(",");
  const device = JSON.parse(await page.evaluate(() => window.shopfrontDeviceFeed(12)));
  const res = await fetch(`${BASE_URL}/api/feed?limit=12`, { headers: { "x-history": header } });
  const edge = await res.json();
  const edgeScores = new Map(edge.sections.flatMap((s) => s.items.map((i) => [`${s.id}/${i.id}`, i.score])));
  let compared = 0;
  for (const s of device.sections) {
    for (const i of s.items) {
      const score = edgeScores.get(`${s.id}/${i.id}`);
      if (score !== undefined) {
        assert.equal(i.score, score, `${s.id}/${i.id}: device ${i.score}, edge ${score}`);
        compared++;
      }
    }
  }
  assert.ok(compared >= 10, `only ${compared} items in common`);
  const because_ = (f) => f.sections.find((s) => s.id === "because")?.items.map((i) => i.id);
  assert.deepEqual(because_(device), because_(edge));
  console.log(`# device vs edge: ${compared} feed items with equal scores`);
});

test("with personalization off no history leaves the device", async () => {
  const { page } = browser;
  await freshDevice(page);
  const on = recordRequests(page);
  await cards(page).first().locator("a").click();
  await page.locator("article.product h1").waitFor();
  await page.locator("a.brand").click();
  await edgeFeed(page);
  on.stop();
  assert.ok(on.seen.some((r) => r.path === "/api/feed" && r.history), "on: the feed carries the history");

  await page.goto(BASE_URL + "/settings");
  await page.getByTestId("personalize").uncheck();
  const off = recordRequests(page);
  await page.locator("a.brand").click();
  await edgeFeed(page);
  await cards(page).nth(2).locator("a").click();
  await page.locator("article.product h1").waitFor();
  await page.locator("a.brand").click();
  await edgeFeed(page);
  await page.locator("#q").fill("table");
  await page.keyboard.press("Enter");
  await page.getByTestId("result-count").waitFor();
  off.stop();
  assert.ok(off.seen.length >= 4, JSON.stringify(off.seen));
  assert.deepEqual(off.seen.filter((r) => r.history), [], "no request carries a history");
  assert.deepEqual(off.seen.filter((r) => r.path === "/api/rows"), [], "no rows of viewed products are fetched");
  assert.equal(await page.locator("section[data-section=for-you]").count(), 0);
  // The history stays on the device, and can be cleared.
  await page.goto(BASE_URL + "/settings");
  assert.ok(JSON.parse(await page.evaluate(() => localStorage.getItem("sf.history"))).length >= 2);
  await page.getByTestId("clear-history").click();
  await page.getByRole("status").waitFor();
  assert.deepEqual(JSON.parse(await page.evaluate(() => localStorage.getItem("sf.history"))), []);
  await page.getByTestId("personalize").check();
});

test("a search with no results says so and offers the categories", async () => {
  const { page } = browser;
  await page.goto(BASE_URL + "/search?q=qqqq");
  await page.getByTestId("browse-instead").waitFor();
  assert.match(await page.locator("h1").textContent(), /No results for “qqqq”/);
  const tree = await api("/api/categories");
  assert.deepEqual(await page.getByTestId("browse-instead").locator("a").allTextContents(), tree.categories.map((c) => c.name));
  await page.getByTestId("browse-instead").locator("a").first().click();
  await page.waitForURL(new RegExp(`/c/${tree.categories[0].path}$`));
  await cards(page).first().waitFor();
});

test("search: a typo finds chairs, facets and sort change results and URL, a deep link reproduces them", async () => {
  const { page } = browser;
  await page.goto(BASE_URL + "/");
  await page.locator("#q").fill("chiar");
  // Results as you type: no Enter needed.
  await page.waitForURL(/\/search\?q=chiar$/);
  await page.locator("[data-source=edge] [data-testid=result-count]").waitFor();
  const titles = (await cards(page).locator(".card-title").allTextContents()).map((t) => t.trim().toLowerCase());
  assert.ok(titles.slice(0, 5).every((t) => t.includes("chair")), titles.slice(0, 5).join(" | "));

  const facet = page.locator("[data-facet=category]").first();
  const label = (await facet.textContent()).trim();
  const count = Number(label.match(/\((\d+)\)$/)[1]);
  await facet.click();
  await page.waitForURL(/category=/);
  await page.locator(`[data-testid=result-count]:text-matches("^${count} ")`).waitFor();

  await page.getByTestId("sort").selectOption("price_asc");
  await page.waitForURL(/sort=price_asc/);
  // The edge's sorted answer (the device's own ranking of what it holds shows while it loads, and
  // is sorted too).
  await page.waitForFunction(() => {
    const prices = [...document.querySelectorAll("[data-source=edge] [data-testid=product-grid] .price")].map((e) => Number(e.textContent.replace(/[^0-9.]/g, "")));
    return prices.length > 1 && prices.every((p, i) => i === 0 || prices[i - 1] <= p);
  });
  const url = page.url();
  const shown = await cards(page).locator(".card-title").allTextContents();
  await page.goto(url);
  await page.locator("[data-source=edge] [data-testid=result-count]").waitFor();
  assert.deepEqual(await cards(page).locator(".card-title").allTextContents(), shown, "a deep link shows the same results");
});

test("cart and wishlist persist across a reload; prices follow ?country=", async () => {
  const { page } = browser;
  await freshDevice(page);
  await page.goto(BASE_URL + "/?country=DE");
  await edgeFeed(page);
  assert.match(await cards(page).first().locator(".price").textContent(), /^€/);
  await cards(page).first().locator("a").click();
  const title = (await page.locator("article.product h1").textContent()).trim();
  const price = Number((await page.getByTestId("price").textContent()).replace(/[^0-9.]/g, ""));
  assert.match(await page.getByTestId("price").textContent(), /^€/);
  await page.getByTestId("add-to-cart").click();
  await page.getByTestId("add-to-cart").click();
  await page.getByTestId("wishlist").click();
  assert.equal(await page.getByTestId("wishlist").getAttribute("aria-pressed"), "true");
  await page.reload();
  await page.locator("article.product h1").waitFor();
  assert.equal(await page.getByTestId("cart-count").textContent(), "2");
  await page.getByRole("link", { name: /Cart/ }).click();
  assert.equal(await page.getByTestId("qty").textContent(), "2");
  assert.equal(await page.getByTestId("subtotal").textContent(), `€${(2 * price).toFixed(2)}`);
  await page.screenshot({ path: join(ARTIFACTS, "cart-phone.png") });
  await page.getByRole("button", { name: "One less" }).click();
  assert.equal(await page.getByTestId("qty").textContent(), "1");
  await page.getByRole("link", { name: "Wishlist" }).click();
  assert.equal((await cards(page).first().locator(".card-title").textContent()).trim(), title);
});

test("checkout: the cart goes to Stripe (a stand-in) priced by the edge; cancel keeps it, paying empties it", async () => {
  const { startStandIn } = await import("./stripe-standin.mjs");
  // `cargo xtask test` started the worker with this stand-in's address and keys.
  const stripe = await startStandIn({
    port: Number(process.env.STRIPE_PORT),
    secretKey: process.env.STRIPE_SECRET_KEY,
    webhookSecret: process.env.STRIPE_WEBHOOK_SECRET,
    shopUrl: BASE_URL,
  });
  const { page, context } = browser;
  try {
    await freshDevice(page);
    const picked = [];
    for (const n of [0, 1]) {
      await page.goto(BASE_URL + "/?country=DE");
      await edgeFeed(page);
      await cards(page).nth(n).locator("a").click();
      await page.getByTestId("add-to-cart").waitFor();
      picked.push(decodeURIComponent(new URL(page.url()).pathname.split("/").pop()));
      await page.getByTestId("add-to-cart").click();
    }
    await page.getByRole("link", { name: /Cart/ }).click();
    await page.getByTestId("checkout").waitFor();
    assert.ok(await page.getByTestId("checkout-offline").isHidden(), "no offline note while online");
    // A shop without Stripe hides the box with `hidden`, which must beat its flex layout.
    const hiddenShows = await page.evaluate(() => {
      const box = document.querySelector(".checkout");
      box.hidden = true;
      const shown = getComputedStyle(box).display !== "none";
      box.hidden = false;
      return shown;
    });
    assert.equal(hiddenShows, false, "a hidden checkout box is not displayed");
    // Cancelled on the payment page: back to the cart, which is unchanged.
    await page.getByTestId("checkout").click();
    await page.waitForURL(`${stripe.url}/pay/**`);
    await page.locator("#cancel").click();
    await page.waitForURL(/\/cart\?checkout=cancelled$/);
    await page.getByTestId("checkout-cancelled").waitFor();
    assert.equal(await page.locator("[data-testid=cart-lines] li").count(), 2);
    // Paid: the session holds the cart's ids at the edge's prices, the shop hears of it once, the
    // confirmation page empties the cart.
    await page.getByTestId("checkout").click();
    await page.waitForURL(`${stripe.url}/pay/**`);
    const session = [...stripe.sessions.values()].at(-1);
    assert.deepEqual(Object.values(session.metadata), picked.map((id) => `1*${id}`));
    assert.equal(session.locale, "en");
    assert.equal(session.currency, "eur");
    let total = 0;
    for (const id of picked) total += Math.round((await api(`/api/products/${encodeURIComponent(id)}?country=DE`)).product.price.amount * 100);
    assert.equal(session.amount_total, total);
    await page.locator("#pay").click();
    await page.waitForURL(new RegExp(`/checkout/done\\?session_id=${session.id}$`));
    await page.getByTestId("order-paid").waitFor();
    assert.deepEqual(stripe.webhooks, [{ status: 200, body: { received: true, recorded: true } }]);
    assert.equal(await page.getByTestId("cart-count").textContent(), "0");
    const stored = await page.evaluate(() => ({ cart: localStorage.getItem("sf.cart"), history: localStorage.getItem("sf.history") }));
    assert.equal(stored.cart, "[]");
    const history = new Map(JSON.parse(stored.history));
    for (const id of picked) assert.equal(history.get(id), "purchase", "bought products join the device's history");
    // Offline the button stays, disabled, and says why; it comes back with the connection.
    await page.goto(BASE_URL + `/p/${encodeURIComponent(picked[0])}`);
    await page.getByTestId("add-to-cart").click();
    await page.getByRole("link", { name: /Cart/ }).click();
    await page.getByTestId("checkout").waitFor();
    await context.setOffline(true);
    await page.getByTestId("checkout").click();
    await page.getByTestId("checkout-offline").waitFor();
    assert.ok(await page.getByTestId("checkout").isDisabled());
    await context.setOffline(false);
    await page.waitForFunction(() => !document.querySelector("[data-testid=checkout]")?.disabled, null, { timeout: 15_000 });
    assert.equal(stripe.sessions.size, 2, "no session was opened offline");
  } finally {
    await context.setOffline(false);
    await stripe.close();
  }
});

test("fresh devices get a random client id and land in their configured variants; with measurement off, none", async () => {
  const variants = ["control", "personal"];
  const landed = new Set();
  for (let n = 0; n < 12 && landed.size < variants.length; n++) {
    const fresh = await launch();
    try {
      // A first visit: the edge makes the id with the page and ranks its prerendered feed (which the
      // app starts from) in that id's variant; the device keeps the id.
      const home = await fresh.page.goto(BASE_URL + "/");
      const html = await home.text();
      const answer = JSON.parse(html.match(/<script type="application\/json" id="prerender-data-feed">(.*?)<\/script>/s)[1]);
      await fresh.page.waitForFunction(() => localStorage.getItem("sf.cid"));
      const cookie = (await fresh.context.cookies()).find((c) => c.name === "sf_cid");
      assert.match(cookie?.value ?? "", /^[0-9a-f]{32}$/, "a random id");
      assert.equal(JSON.parse(await fresh.page.evaluate(() => localStorage.getItem("sf.cid"))), cookie.value, "the device kept the edge's id");
      assert.equal(answer.variant, variantOf(cookie.value, variants), "the edge ranked with the client's variant");
      const feed = await fresh.page.evaluate(() => fetch("/api/feed?limit=12").then((r) => r.json()));
      assert.equal(feed.variant, answer.variant, "and keeps doing so");
      landed.add(answer.variant);
      assert.deepEqual(fresh.errors, []);
    } finally {
      await fresh.context.close();
    }
  }
  assert.deepEqual([...landed].sort(), variants, "fresh devices split across both variants");
  // Measurement off: the id is deleted and no event leaves the device.
  const { page, context } = browser;
  await freshDevice(page);
  await page.goto(BASE_URL + "/settings");
  await page.getByTestId("measure").uncheck();
  assert.equal((await context.cookies()).find((c) => c.name === "sf_cid")?.value, "off", "no id");
  const sent = [];
  const onRequest = (r) => r.url().includes("/api/events") && sent.push(r.url());
  page.on("request", onRequest);
  await page.goto(BASE_URL + "/");
  await cards(page).first().locator("a").click();
  await page.getByTestId("add-to-cart").click();
  await page.goto(BASE_URL + "/");
  await edgeFeed(page);
  page.off("request", onRequest);
  assert.deepEqual(sent, []);
  assert.equal((await context.cookies()).find((c) => c.name === "sf_cid")?.value, "off", "not made again, by the device or the edge");
  assert.equal(await page.evaluate(() => localStorage.getItem("sf.events")), null);
  await page.goto(BASE_URL + "/settings");
  await page.getByTestId("measure").check();
});

test("a session's events reach D1 exactly once, also after an offline period and a retry", async () => {
  const { page, context } = browser;
  await freshDevice(page);
  // Every batch the page sends, by its id (a batch sent again keeps its id).
  const sent = new Map();
  const attempts = [];
  const onRequest = (r) => {
    if (!r.url().includes("/api/events")) return;
    const batch = JSON.parse(r.postData());
    attempts.push(batch.batch);
    sent.set(batch.batch, batch);
  };
  page.on("request", onRequest);
  await page.goto(BASE_URL + "/");
  await edgeFeed(page);
  await cards(page).nth(1).locator("a").click();
  await page.getByTestId("add-to-cart").click();
  // Offline: the wishlist save waits on the device; the page tries to send and fails.
  await context.setOffline(true);
  await page.getByTestId("wishlist").click();
  await page.getByRole("link", { name: /Cart/ }).click();
  await page.getByRole("link", { name: "Wishlist" }).click();
  await context.setOffline(false);
  // Back online: the next page change sends what waited, with the same batch ids.
  await page.getByRole("link", { name: /Cart/ }).click();
  // Stored as `<day>:<id>`.
  const session = JSON.parse(await page.evaluate(() => localStorage.getItem("sf.session"))).split(":")[1];
  assert.match(session, /^[0-9a-f]{32}$/);
  // Until the device holds nothing unsent (each page change sends what waits).
  await page.waitForFunction(() => {
    const waiting = JSON.parse(localStorage.getItem("sf.events") ?? "{}");
    return !waiting.open?.length && !waiting.sealed?.length;
  }, null, { timeout: 30_000 });
  const rows = await d1(`SELECT kind, item_id, list, position FROM events WHERE session = '${session}'`);
  page.off("request", onRequest);
  const expected = [...sent.values()].flatMap((b) => b.events);
  assert.ok(attempts.length > sent.size, `a batch was sent more than once: ${attempts.length} sends of ${sent.size} batches`);
  assert.equal(rows.length, expected.length, "each event stored exactly once");
  const kinds = (list) => list.reduce((m, e) => ({ ...m, [e.kind]: (m[e.kind] ?? 0) + 1 }), {});
  assert.deepEqual(kinds(rows), kinds(expected));
  assert.ok(kinds(rows).impression > 0 && kinds(rows).click === 1 && kinds(rows).add_to_cart === 1 && kinds(rows).wishlist === 1, JSON.stringify(kinds(rows)));
  assert.ok(rows.some((r) => r.kind === "click" && r.list && r.position !== null), "clicks carry their list and position");
});

test("a rendered grid records its impressions in one write of the device's outbox, not one per card", async () => {
  const { page, context } = browser;
  await freshDevice(page);
  // Counts writes of the outbox from here on (an init script runs before the app on every load).
  await context.addInitScript(() => {
    window.outboxWrites = 0;
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (key, value) {
      if (key === "sf.events") window.outboxWrites += 1;
      return setItem.call(this, key, value);
    };
  });
  await page.goto(BASE_URL + "/");
  await edgeFeed(page);
  await page.waitForFunction(() => {
    const o = JSON.parse(localStorage.getItem("sf.events") ?? "{}");
    return (o.open?.length ?? 0) + (o.sealed?.length ?? 0) > 0;
  });
  const shown = await cards(page).count();
  const writes = await page.evaluate(() => window.outboxWrites);
  assert.ok(shown >= 12, `the home page shows ${shown} cards`);
  assert.ok(writes >= 1 && writes * 4 <= shown, `${writes} writes of the outbox for ${shown} cards`);
});

test("the interface speaks German when asked, and the choice persists", async () => {
  const { page } = browser;
  await page.goto(BASE_URL + "/settings");
  await page.getByTestId("lang").selectOption("de");
  await page.getByRole("link", { name: "Warenkorb" }).waitFor();
  await page.reload();
  assert.equal(await page.locator("#q").getAttribute("placeholder"), "Produkte suchen");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "de");
  await page.getByTestId("lang").selectOption("en");
  await page.getByRole("link", { name: "Cart" }).waitFor();
});

test("offline after one visit: shell, feed, a viewed product and search on the device", async () => {
  // Its own origin through a proxy, so "the server is gone" is real (connections refused) while the
  // server itself keeps running for the other tests.
  const server = await proxy(BASE_URL);
  const base = server.url;
  const offlineBrowser = await launch({ serviceWorkers: "allow" });
  const { page, context } = offlineBrowser;
  try {
    await page.goto(base + "/");
    await cards(page).first().waitFor();
    await page.evaluate(() => navigator.serviceWorker.ready);
    // Controlled by the worker from here on, so what the shopper sees is cached as they go.
    await page.reload();
    await edgeFeed(page);
    assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller));
    const rows = page.waitForResponse((r) => r.url().includes("/api/rows"));
    await cards(page).first().locator("a").click();
    const title = (await page.locator("article.product h1").textContent()).trim();
    const productUrl = page.url();
    await rows;
    await page.locator("a.brand").click();
    await edgeFeed(page);
    // What the service worker keeps: API answers of this build, bounded, and no suggestions (one per
    // keystroke would be a trail of what was typed).
    await page.evaluate(() => fetch("/api/suggest?q=cha").then((r) => r.text()));
    const kept = await page.evaluate(async () => {
      const names = (await caches.keys()).filter((k) => k.startsWith("api-"));
      const urls = [];
      for (const n of names) urls.push(...(await (await caches.open(n)).keys()).map((r) => new URL(r.url).pathname));
      return { names, urls };
    });
    assert.equal(kept.names.length, 1, JSON.stringify(kept.names));
    assert.notEqual(kept.names[0], "api-v1", "versioned with the build");
    assert.ok(kept.urls.includes("/api/pack") && kept.urls.includes("/api/rows"), kept.urls.join(" "));
    assert.ok(!kept.urls.includes("/api/suggest"), kept.urls.join(" "));
    assert.ok(kept.urls.length <= 60, `${kept.urls.length} answers kept`);

    await server.close();
    await page.reload();
    await page.getByTestId("offline").waitFor();
    // "For you" in either variant ("Because you viewed" may be folded into it by the `personal` weights).
    await page.locator("section[data-section=for-you][data-source=device]").waitFor();
    assert.ok(await cards(page).count() > 0, "the feed is ranked on the device");
    await page.screenshot({ path: join(ARTIFACTS, "offline-phone.png") });

    await page.goto(productUrl);
    assert.equal((await page.locator("article.product h1").textContent()).trim(), title);

    await page.goto(base + "/search?q=paper");
    await page.locator("[data-source=device] [data-testid=result-count]").waitFor();
    const found = (await cards(page).locator(".card-title").allTextContents()).map((t) => t.toLowerCase());
    assert.ok(found.length > 0 && found.some((t) => t.includes("paper")), found.join(" | "));

    // Clearing the history clears what the service worker kept of the visit too.
    await page.goto(base + "/settings");
    await page.getByTestId("clear-history").click();
    await page.waitForFunction(async () => (await caches.keys()).every((k) => !k.startsWith("api-")));
  } finally {
    await context.close();
    await server.close();
  }
  // Requests refused while offline are expected; anything else in the console is a bug.
  assert.deepEqual(offlineBrowser.errors, [], "no errors in the page console");
});

test("nothing overflows sideways on phones from 320 to 430 px wide, header included", async () => {
  const { page } = browser;
  const item = (await api("/api/feed?limit=1")).sections[0].items[0];
  const pages = ["/", "/search?q=chair", "/c/furniture", `/p/${encodeURIComponent(item.id)}`, "/cart", "/settings"];
  try {
    for (const width of [320, 390, 430]) {
      await page.setViewportSize({ width, height: 800 });
      for (const path of pages) {
        await page.goto(BASE_URL + path);
        await page.locator("main h1, main h2").first().waitFor();
        // Every element inside the viewport's width, not just the document (a clipped nav link is lost too).
        const wide = await page.evaluate(() => {
          const out = [];
          for (const el of document.querySelectorAll("body *")) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > innerWidth + 0.5) {
              out.push(`${el.tagName.toLowerCase()}.${el.className} right ${Math.round(r.right)}`);
            }
          }
          return { scroll: document.documentElement.scrollWidth, out: out.slice(0, 5) };
        });
        assert.ok(wide.scroll <= width, `${path} at ${width}px scrolls sideways to ${wide.scroll}px: ${wide.out.join("; ")}`);
        assert.deepEqual(wide.out, [], `${path} at ${width}px`);
      }
    }
  } finally {
    await page.setViewportSize({ width: 390, height: 844 });
  }
});

test("screenshots at phone and desktop sizes", async () => {
  const { page } = browser;
  const shots = [["home", "/"], ["search", "/search?q=chair"], ["category", "/c/furniture"], ["settings", "/settings"]];
  for (const [size, viewport] of [["phone", { width: 390, height: 844 }], ["desktop", { width: 1280, height: 800 }]]) {
    await page.setViewportSize(viewport);
    for (const [name, path] of shots) {
      await page.goto(BASE_URL + path);
      await page.locator("main h1, main h2").first().waitFor();
      if (path !== "/settings") await cards(page).first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${size}.png`) });
    }
  }
  await page.setViewportSize({ width: 390, height: 844 });
});
