//! Lighthouse (its default mobile preset: simulated slow 4G and a 4x slower CPU) against the running
//! storefront, in Debian's Chromium: the median of several runs' performance, accessibility,
//! best-practices and SEO scores, and the HTML report of the median run kept as an artifact.
//! Usage: node xtask/lighthouse.mjs URL REPORT.html [RUNS]
import { writeFileSync } from "node:fs";
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const [url, out, runsArg] = process.argv.slice(2);
if (!url || !out) {
  console.error("usage: node xtask/lighthouse.mjs URL REPORT.html [RUNS]");
  process.exit(2);
}
const runs = Number(runsArg ?? 3);
const categories = ["performance", "accessibility", "best-practices", "seo"];
const results = [];
for (let i = 0; i < runs; i++) {
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
    const metrics = Object.fromEntries(
      ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index"]
        .map((a) => [a, lhr.audits[a]?.displayValue ?? "?"]),
    );
    const failed = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode === "binary")
      .map((a) => a.id);
    console.log(`run ${i + 1}: ${JSON.stringify(scores)} ${JSON.stringify(metrics)}${failed.length ? ` failing: ${failed.join(", ")}` : ""}`);
    results.push({ scores, report: r.report });
  } finally {
    await chrome.kill();
  }
}
results.sort((a, b) => a.scores.performance - b.scores.performance);
const median = results[Math.floor(results.length / 2)];
writeFileSync(out, median.report);
const line = categories.map((c) => {
  const all = results.map((r) => r.scores[c]).sort((a, b) => a - b);
  return `${c} ${all[Math.floor(all.length / 2)]}`;
}).join(", ");
console.log(`lighthouse (mobile, median of ${runs}): ${line}; report ${out}`);
