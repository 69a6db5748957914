//! Reads an indexer build folder (`kv/`, one file per key) and writes it into a KV namespace, the
//! pointers last (the build's own format's `current-v<N>`, then `current`). Shared by `seed-kv.mjs`
//! and the tests.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

async function* files(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

/** Pointer keys: `current` and one `current-v<format>` per format. */
export const isPointer = (key) => key === "current" || /^current-v\d+$/.test(key);

/**
 * All entries of a build: `{ version, pointer, entries: [{ key, value: ArrayBuffer }] }`, `pointer`
 * being the build's own format's pointer key (`null` for an id without a format; entries leave
 * the pointers out).
 */
export async function readBuild(kvDir) {
  const version = (await readFile(join(kvDir, "current"), "utf8")).trim();
  const format = version.match(/^v(\d+)-/)?.[1];
  const pointer = format ? `current-v${format}` : null;
  const entries = [];
  for await (const path of files(kvDir)) {
    const key = relative(kvDir, path).split(sep).join("/");
    if (isPointer(key)) continue;
    const buf = await readFile(path);
    // An ArrayBuffer, not a Node Buffer: Miniflare stores a Buffer as its string form.
    entries.push({ key, value: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
  }
  return { version, pointer, entries };
}

/**
 * Writes a build into `kv`, flips its format's pointer and `current`, and with `prune` deletes keys of
 * every build but those the pointers name and the one `current` named before.
 */
export async function seed(kv, kvDir, { prune = false } = {}) {
  const { version, pointer, entries } = await readBuild(kvDir);
  let bytes = 0;
  for (const { key, value } of entries) {
    await kv.put(key, value);
    bytes += value.byteLength;
  }
  const previous = (await kv.get("current"))?.trim();
  if (pointer) await kv.put(pointer, version);
  await kv.put("current", version);
  let pruned = 0;
  if (prune) {
    // Keep the live build, the one before it (requests in flight may still read it) and every
    // format's live build (a worker of that format may still be answering).
    const keep = new Set([version, previous]);
    let cursor;
    do {
      const page = await kv.list({ cursor, prefix: "current" });
      for (const { name } of page.keys) if (isPointer(name)) keep.add((await kv.get(name))?.trim());
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    do {
      const page = await kv.list({ cursor });
      for (const { name } of page.keys) {
        if (!isPointer(name) && !keep.has(name.split("/")[0])) {
          await kv.delete(name);
          pruned++;
        }
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
  return { version, keys: entries.length, bytes, pruned };
}
