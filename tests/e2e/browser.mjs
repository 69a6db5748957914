//! Headless Debian Chromium driven by playwright-core (which never downloads a browser of its own).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8787";
export const ARTIFACTS = process.env.ARTIFACTS ?? "tests/artifacts";
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * A fresh browser context (own profile) with a page that records page errors. Service workers are
 * blocked unless asked for: a worker answers the page's requests itself, out of reach of
 * `page.route`, and only the offline test is about it.
 */
export async function launch({ serviceWorkers = "block" } = {}) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "shop-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 390, height: 844 },
    serviceWorkers,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Failed requests are asserted by the tests that make them; anything else logged as an error is a bug.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  return { context, page, errors };
}

/** JSON from the API, fetched outside the browser, to know what the page should show. */
export async function api(path) {
  const res = await fetch(BASE_URL + path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/**
 * A pass-through HTTP proxy to `target` on its own port: closing it is the server going away for
 * the browser (connections refused), without stopping the server the other tests use.
 */
export async function proxy(target) {
  const http = await import("node:http");
  const t = new URL(target);
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => {
      for (const s of sockets) s.destroy();
      server.close(done);
    }),
  };
}

/**
 * Rows of an SQL query on the local D1 that `wrangler dev` serves (read with `wrangler d1 execute
 * --local`, as a shop owner would), so tests see what the edge really stored.
 */
export async function d1(sql) {
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync("node_modules/.bin/wrangler", ["d1", "execute", "shopfront", "--local", "--json",
    "--config", "edge/wrangler.toml", "--persist-to", process.env.SHOP_STATE ?? ".wrangler/state", "--command", sql],
  { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } });
  return JSON.parse(out)[0].results;
}

/** The experiment variant the edge assigns a client id: FNV-1a 64 of the id, modulo the variants in name order. */
export function variantOf(clientId, variants) {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(clientId)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return [...variants].sort()[Number(h % BigInt(variants.length))];
}
