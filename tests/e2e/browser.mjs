//! Headless Debian Chromium driven by playwright-core (which never downloads a browser of its own).
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8787";
export const ARTIFACTS = process.env.ARTIFACTS ?? "tests/artifacts";
mkdirSync(ARTIFACTS, { recursive: true });

/** A fresh browser context (own profile) with a page that records page errors. */
export async function launch() {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "shop-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 390, height: 844 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Failed requests are asserted by the tests that make them; anything else logged as an error is a bug.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  return { context, page, errors };
}

/** JSON from the API, fetched outside the browser, to know what the page should show. */
export async function api(path) {
  const res = await fetch(BASE_URL + path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}
