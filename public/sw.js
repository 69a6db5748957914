//! Offline support for the storefront: the app shell and built assets cache-first, `/api/*`
//! network-first with the last answer as the offline fallback (marked `x-offline: 1`, so the app can
//! say it is offline and rank on the device). Personal answers (`no-store`) are never stored, nor
//! suggestions (one per keystroke: a trail of what was typed); the answers kept are bounded, dropped
//! with each new build and deleted by the app when the shopper clears their history.
// `cargo xtask build` replaces VERSION and PRECACHE with the build's hash and its file list.
const VERSION = "dev";
const PRECACHE = ["/"];
const SHELL = `shell-${VERSION}`;
const API = `api-${VERSION}`;
/// Most API answers kept (the oldest go first): enough for the pack, a session's viewed products and
/// searches.
const MAX_API = 60;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => (k.startsWith("shell-") && k !== SHELL) || (k.startsWith("api-") && k !== API)).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) event.respondWith(networkFirst(request));
  else if (request.mode === "navigate") event.respondWith(page(request));
  else event.respondWith(cacheFirst(request));
});

/// A copy of a cached answer that says it came from this device.
async function offline(hit) {
  const headers = new Headers(hit.headers);
  headers.set("x-offline", "1");
  return new Response(await hit.blob(), { status: hit.status, statusText: hit.statusText, headers });
}

async function networkFirst(request) {
  const cache = await caches.open(API);
  try {
    const response = await fetch(request);
    const control = response.headers.get("cache-control") ?? "";
    const url = new URL(request.url);
    if (response.ok && !control.includes("no-store") && !request.headers.has("x-history") && url.pathname !== "/api/suggest") {
      // Re-added, not replaced: the newest answers are last, so the bound drops the oldest.
      await cache.delete(request, { ignoreVary: true });
      await cache.put(request, response.clone());
      const keys = await cache.keys();
      await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_API)).map((k) => cache.delete(k)));
    }
    return response;
  } catch {
    // A personal request is not answered with someone's (or an older) generic answer: the app ranks
    // it on the device instead. Others vary only by headers the device sets itself, so the last
    // answer for the URL serves.
    const hit = request.headers.has("x-history") ? undefined : await cache.match(request, { ignoreVary: true });
    return hit ? offline(hit) : new Response(null, { status: 504, headers: { "x-offline": "1" } });
  }
}

/// Pages: the network (product pages carry SEO tags), else the cached app shell.
async function page(request) {
  try {
    return await fetch(request);
  } catch {
    const shell = await caches.match("/", { cacheName: SHELL });
    return shell ?? Response.error();
  }
}

async function cacheFirst(request) {
  const hit = await caches.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL);
    await cache.put(request, response.clone());
  }
  return response;
}
