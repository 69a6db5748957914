//! Prints raw, gzip and brotli sizes of the .wasm and .js files in the given folders (not recursive).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(10);
for (const dir of process.argv.slice(2)) {
  for (const name of readdirSync(dir).sort()) {
    if (!/\.(wasm|js)$/.test(name)) continue;
    const buf = readFileSync(join(dir, name));
    const gz = gzipSync(buf, { level: 9 }).length;
    const br = brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    console.log(`  ${join(dir, name).padEnd(48)} raw${kb(buf.length)}  gzip${kb(gz)}  brotli${kb(br)}`);
  }
}
