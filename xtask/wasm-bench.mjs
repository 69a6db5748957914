//! Times the wasm build of ranking's kernels (examples/wasm_kernel.rs) in Node's V8: median of runs.
// Usage: node xtask/wasm-bench.mjs <label>=<wasm-bindgen nodejs dir> ...
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
function time(f, runs) {
  f(); f();
  const t = [];
  for (let i = 0; i < runs; i++) { const s = performance.now(); f(); t.push(performance.now() - s); }
  return median(t);
}
for (const arg of process.argv.slice(2)) {
  const [label, dir] = arg.split("=");
  const { Bench } = require(`${dir}/wasm_kernel.js`);
  for (const n of [10_000, 100_000]) {
    const b = new Bench(n);
    const scan = time(() => b.scan(), 30);
    const feed = time(() => b.feed(), 10);
    console.log(`  wasm ${label.padEnd(7)} n=${String(n).padStart(6)}  int8 scan ${scan.toFixed(3)} ms (${Math.round(n / scan)} items/ms)  personal feed ${feed.toFixed(2)} ms`);
    b.free();
  }
}
