//! Reads an indexer build folder (`kv/`, one file per key) and writes it into a KV namespace, the
//! `current` pointer last. Shared by `seed-kv.mjs` and the tests.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

async function* files(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

/** All entries of a build: `{ version, entries: [{ key, value: ArrayBuffer }] }` (without `current`). */
export async function readBuild(kvDir) {
  const version = (await readFile(join(kvDir, "current"), "utf8")).trim();
  const entries = [];
  for await (const path of files(kvDir)) {
    const key = relative(kvDir, path).split(sep).join("/");
    if (key === "current") continue;
    const buf = await readFile(path);
    // An ArrayBuffer, not a Node Buffer: Miniflare stores a Buffer as its string form.
    entries.push({ key, value: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
  }
  return { version, entries };
}

/** Writes a build into `kv`, flips `current`, and with `prune` deletes keys of all but the last two builds. */
export async function seed(kv, kvDir, { prune = false } = {}) {
  const { version, entries } = await readBuild(kvDir);
  let bytes = 0;
  for (const { key, value } of entries) {
    await kv.put(key, value);
    bytes += value.byteLength;
  }
  const previous = (await kv.get("current"))?.trim();
  await kv.put("current", version);
  let pruned = 0;
  if (prune) {
    // Keep the live build and the one before it: requests in flight may still read it.
    const keep = new Set([version, previous]);
    let cursor;
    do {
      const page = await kv.list({ cursor });
      for (const { name } of page.keys) {
        if (name !== "current" && !keep.has(name.split("/")[0])) {
          await kv.delete(name);
          pruned++;
        }
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
  return { version, keys: entries.length, bytes, pruned };
}
