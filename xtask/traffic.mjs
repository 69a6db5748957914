//! SYNTHETIC demo traffic, for the experiment report and tests only: simulated shoppers, not people.
//! Each simulated session gets a random client id (so the edge assigns its variant), views one
//! product, asks the edge for its home feed with that history, and "clicks" shown products far more
//! often when they are in the viewed product's category (these simulated shoppers came for that
//! kind of product), adding some to the cart; every impression, click and add to cart goes to
//! `POST /api/events` as the app would send it. A variant whose feed follows the history more
//! closely should then show a higher click-through in `indexer experiments`.
//!
//! CLI: `node xtask/traffic.mjs <base-url> <sessions> [seed]` (the demo data under target/xtask/demo).

/** A small deterministic PRNG (mulberry32), so a run can be repeated. */
export const prng = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const hex = (random, n) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");

/**
 * Runs `sessions` simulated sessions against `ask(path, init)` (a fetch to the shop); each views one
 * of `products` (the catalog). Returns per variant the sessions, impressions, clicks and
 * add-to-carts sent, and every batch's answer status.
 */
export async function simulate({ ask, sessions, products, seed = 1 }) {
  const random = prng(seed);
  const sent = {};
  const statuses = [];
  for (let s = 0; s < sessions; s++) {
    const cookie = `sf_cid=${hex(random, 32)}`;
    const viewed = products[Math.floor(random() * products.length)];
    const wanted = viewed.category.join("/");
    const feed = await (await ask("/api/feed?limit=12", { headers: { cookie, "x-history": `${viewed.id}:view` } })).json();
    const now = Math.floor(Date.now() / 1000);
    const events = [];
    let clicks = 0;
    let carts = 0;
    for (const section of feed.sections) {
      section.items.forEach((item, position) => {
        const list = section.id;
        events.push({ kind: "impression", surface: "home", list, item: item.id, position, at: now });
        if (random() < (item.category.join("/") === wanted ? 0.3 : 0.03)) {
          clicks++;
          events.push({ kind: "click", surface: "home", list, item: item.id, position, at: now });
          if (random() < 0.3) {
            carts++;
            events.push({ kind: "add_to_cart", surface: "product", item: item.id, at: now });
          }
        }
      });
    }
    const v = (sent[feed.variant] ??= { sessions: 0, impressions: 0, clicks: 0, carts: 0 });
    v.sessions++;
    v.impressions += events.filter((e) => e.kind === "impression").length;
    v.clicks += clicks;
    v.carts += carts;
    for (let i = 0; i < events.length; i += 100) {
      const batch = { batch: hex(random, 32), session: hex(random, 32), events: events.slice(i, i + 100) };
      const res = await ask("/api/events", {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify(batch),
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
  }
  return { sent, statuses };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [base, sessions = "200", seed = "1"] = process.argv.slice(2);
  if (!base) {
    console.error("usage: node xtask/traffic.mjs <base-url> <sessions> [seed]   (SYNTHETIC traffic)");
    process.exit(2);
  }
  const { products } = await import("../tests/e2e/demo.mjs");
  const ask = (path, init) => fetch(base + path, init);
  const { sent, statuses } = await simulate({ ask, sessions: Number(sessions), products, seed: Number(seed) });
  console.log("SYNTHETIC traffic sent:", JSON.stringify(sent));
  const bad = statuses.filter((s) => s !== 202).length;
  console.log(`${statuses.length} batches, ${bad} not accepted`);
  if (bad) process.exit(1);
}
