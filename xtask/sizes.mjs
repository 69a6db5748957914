//! Prints raw, gzip and brotli sizes of the .wasm and .js files in the given folders and their
//! subfolders (the engine module's folder, wasm-bindgen snippets), the app's first-load wasm marked.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(10);
const walk = (dir) =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? (name === "img" ? [] : walk(path)) : [path];
    });
for (const dir of process.argv.slice(2)) {
  for (const path of walk(dir)) {
    if (!/\.(wasm|js)$/.test(path)) continue;
    const buf = readFileSync(path);
    const gz = gzipSync(buf, { level: 9 }).length;
    const br = brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    console.log(`  ${path.padEnd(60)} raw${kb(buf.length)}  gzip${kb(gz)}  brotli${kb(br)}`);
  }
}
