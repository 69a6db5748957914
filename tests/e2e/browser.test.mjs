//! The built app in headless Chromium against `wrangler dev` (workerd, local KV seeded by the indexer).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, BASE_URL, api, launch } from "./browser.mjs";
import { mentions } from "./demo.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await browser?.context.close();
  assert.deepEqual(browser?.errors ?? [], [], "no errors in the page console");
});

const cards = (page) => page.locator("[data-testid=product-grid] li");

test("home shows the feed's sections", async () => {
  const { page } = browser;
  const feed = await api("/api/feed?limit=24");
  await page.goto(BASE_URL + "/");
  await cards(page).first().waitFor();
  const items = feed.sections.flatMap((s) => s.items);
  assert.equal(await cards(page).count(), items.length);
  assert.equal((await cards(page).first().locator(".card-title").textContent()).trim(), items[0].title);
  assert.deepEqual(await page.locator("main h2").allTextContents(), feed.sections.map((s) => s.title));
  // Images have explicit dimensions (no layout shift) and lazy loading.
  const img = cards(page).first().locator("img");
  assert.equal(await img.getAttribute("width"), "240");
  assert.equal(await img.getAttribute("height"), "240");
  await page.screenshot({ path: join(ARTIFACTS, "home-phone.png") });
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
  await page.goto(BASE_URL + "/");
  await page.getByRole("searchbox", { name: "Search products" }).fill("chair");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/search\?q=chair$/);
  await cards(page).first().waitFor();
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
  const missing = await fetch(`${BASE_URL}/p/NOPE-404`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /<title>Shopfront<\/title>/);
});
