//! Lighthouse (its default mobile preset: simulated slow 4G and a 4x slower CPU) against the running
//! storefront, in Debian's Chromium: per page, several runs in a fresh browser each; the median and
//! worst performance score, largest contentful paint and layout shift of every run, and the HTML
//! report of the median run kept as an artifact (`lighthouse-<page>.html`).
//! Usage: node xtask/lighthouse.mjs BASE_URL REPORT_DIR RUNS NAME=PATH...
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const [base, dir, runsArg, ...pages] = process.argv.slice(2);
if (!base || !dir || !pages.length || pages.some((p) => !p.includes("="))) {
  console.error("usage: node xtask/lighthouse.mjs BASE_URL REPORT_DIR RUNS NAME=PATH...");
  process.exit(2);
}
const runs = Number(runsArg);
const categories = ["performance", "accessibility", "best-practices", "seo"];
const metrics = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index"];
const summary = [];

async function once(url) {
  // A fresh browser per run: no service worker or HTTP cache from the run before.
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const r = await lighthouse(url, { port: chrome.port, output: "html", logLevel: "error" });
    const lhr = r.lhr;
    if (lhr.runtimeError) throw new Error(`${lhr.runtimeError.code}: ${lhr.runtimeError.message}`);
    const scores = Object.fromEntries(categories.map((c) => [c, Math.round((lhr.categories[c]?.score ?? 0) * 100)]));
    const shown = Object.fromEntries(metrics.map((a) => [a, lhr.audits[a]?.displayValue ?? "?"]));
    const failed = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode === "binary")
      .map((a) => a.id);
    return {
      scores,
      lcp: lhr.audits["largest-contentful-paint"]?.numericValue ?? Infinity,
      cls: lhr.audits["cumulative-layout-shift"]?.numericValue ?? Infinity,
      line: `${JSON.stringify(scores)} ${JSON.stringify(shown)}${failed.length ? ` failing: ${failed.join(", ")}` : ""}`,
      report: r.report,
    };
  } finally {
    await chrome.kill();
  }
}

for (const spec of pages) {
  const [name, path] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(base + path);
    console.log(`${name} run ${i + 1}: ${r.line}`);
    results.push(r);
  }
  results.sort((a, b) => a.scores.performance - b.scores.performance);
  const median = results[Math.floor(results.length / 2)];
  const out = join(dir, `lighthouse-${name}.html`);
  writeFileSync(out, median.report);
  const mid = (c) => results.map((r) => r.scores[c]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  const worst = results[0].scores.performance;
  const maxLcp = Math.max(...results.map((r) => r.lcp)) / 1000;
  const maxCls = Math.max(...results.map((r) => r.cls));
  summary.push(
    `${name} (${path}), ${runs} runs: performance median ${mid("performance")}, worst ${worst}; ` +
      `largest contentful paint at most ${maxLcp.toFixed(1)} s, layout shift at most ${maxCls.toFixed(3)}; ` +
      categories.slice(1).map((c) => `${c} ${mid(c)}`).join(", ") + `; report ${out}`,
  );
}
console.log(summary.join("\n"));
