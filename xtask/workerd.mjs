//! The workerd processes a benchmark started (Miniflare's children): their CPU time and memory, read
//! from /proc. Shared by `load.mjs` (CPU ms per request) and `crawl.mjs` (memory after a crawl).
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

const ticks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Every workerd process below this one, summed: CPU seconds (user + system), resident and peak kB. */
export function workerd() {
  const procs = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" ");
      procs.push({ pid: Number(pid), name, ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / ticks });
    } catch { /* the process ended while listing */ }
  }
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (mine.has(p.ppid) && !mine.has(p.pid)) { mine.add(p.pid); grew = true; }
  }
  const kb = (status, field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
  let rss = 0, peak = 0, cpu = 0;
  for (const p of procs.filter((p) => mine.has(p.pid) && p.name.includes("workerd"))) {
    cpu += p.cpu;
    try {
      const status = readFileSync(`/proc/${p.pid}/status`, "utf8");
      rss += kb(status, "VmRSS");
      peak += kb(status, "VmHWM");
    } catch { /* the process ended while reading */ }
  }
  return { rss, peak, cpu };
}
