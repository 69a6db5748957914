//! A local stand-in for Stripe (this machine cannot reach api.stripe.com): it checks
//! `POST /v1/checkout/sessions` the way Stripe's API reference documents the fields the shop sends,
//! answers with a Checkout Session, serves a payment page, and on "Pay" sends the shop a
//! `checkout.session.completed` webhook signed as Stripe signs them. Used by the edge and browser tests.
import { createServer } from "node:http";
import { createHmac, randomBytes } from "node:crypto";

/** Checkout's payment page languages (`locale`). */
const LOCALES = new Set(
  ("auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hr hu id it ja ko lt lv ms mt nb nl pl pt " +
    "pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW hi is ar he").split(" "),
);
/** The line item fields the shop may send; any other parameter is refused, as Stripe refuses unknown ones. */
const LINE_FIELD = /^line_items\[(\d+)\]\[(quantity|price_data\]\[currency|price_data\]\[unit_amount|price_data\]\[product_data\]\[name)\]$/;
const META_FIELD = /^metadata\[([^\]]+)\]$/;

/** `t=…,v1=…` over `payload`, as Stripe signs webhook deliveries. */
export const signature = (secret, payload, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${payload}`).digest("hex")}`;

/** Stripe's error answer. */
const refuse = (res, status, message, param) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { type: "invalid_request_error", message, ...(param ? { param } : {}) } }));
};

/** Checks a session form; returns an error `[message, param]` or the parsed session parameters. */
export const checkSessionForm = (form) => {
  const lines = [];
  const metadata = {};
  const top = {};
  for (const [key, value] of form) {
    const line = LINE_FIELD.exec(key);
    const meta = META_FIELD.exec(key);
    if (line) {
      const n = Number(line[1]);
      (lines[n] ??= {})[line[2]] = value;
    } else if (meta) {
      if (meta[1].length > 40) return [`metadata key longer than 40 characters: ${meta[1]}`, key];
      if (value.length > 500) return ["metadata values can be at most 500 characters", key];
      metadata[meta[1]] = value;
    } else if (["mode", "success_url", "cancel_url", "locale"].includes(key)) {
      top[key] = value;
    } else {
      return [`Received unknown parameter: ${key}`, key];
    }
  }
  if (top.mode !== "payment") return ["mode must be payment for one-time prices", "mode"];
  for (const url of ["success_url", "cancel_url"]) {
    if (!top[url] || !URL.canParse(top[url])) return [`Not a valid URL`, url];
  }
  if (top.locale !== undefined && !LOCALES.has(top.locale)) return [`Invalid locale: ${top.locale}`, "locale"];
  if (Object.keys(metadata).length > 50) return ["at most 50 metadata keys", "metadata"];
  if (lines.length === 0) return ["line_items is required in payment mode", "line_items"];
  if (lines.length > 100) return ["at most 100 line items in payment mode", "line_items"];
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n];
    if (!l) return [`line_items[${n}] is missing (indices must be consecutive)`, `line_items[${n}]`];
    const p = `line_items[${n}]`;
    if (!/^[a-z]{3}$/.test(l["price_data][currency"] ?? "")) return ["Invalid currency", `${p}[price_data][currency]`];
    if (!/^\d+$/.test(l["price_data][unit_amount"] ?? "")) return ["Invalid integer", `${p}[price_data][unit_amount]`];
    if (!(l["price_data][product_data][name"] ?? "").trim()) return ["Missing name", `${p}[price_data][product_data][name]`];
    if (!/^[1-9]\d*$/.test(l.quantity ?? "")) return ["Invalid positive integer", `${p}[quantity]`];
  }
  const currencies = new Set(lines.map((l) => l["price_data][currency"]));
  if (currencies.size > 1) return ["All line items must use the same currency", "line_items"];
  return { ...top, metadata, lines };
};

/**
 * Starts the stand-in on `port`. `shopUrl` is where webhooks go. Returns `{ url, requests, sessions,
 * webhooks, close }`: every session request as received (headers and form), the sessions created, and
 * each webhook delivery with the shop's answer.
 */
export const startStandIn = ({ port = 0, secretKey, webhookSecret, shopUrl }) =>
  new Promise((resolve) => {
    const requests = [];
    const sessions = new Map();
    const webhooks = [];
    let url;
    const server = createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks).toString();
      const path = new URL(req.url, "http://x").pathname;
      if (req.method === "POST" && path === "/v1/checkout/sessions") {
        requests.push({ headers: req.headers, form: [...new URLSearchParams(body)] });
        if (req.headers.authorization !== `Bearer ${secretKey}`) {
          return refuse(res, 401, "Invalid API Key provided");
        }
        if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
          return refuse(res, 400, "Stripe takes application/x-www-form-urlencoded bodies");
        }
        const checked = checkSessionForm(new URLSearchParams(body));
        if (Array.isArray(checked)) return refuse(res, 400, checked[0], checked[1]);
        // Random, as Stripe's are: a shop's order store outlives any one stand-in.
        const id = `cs_test_${randomBytes(12).toString("hex")}`;
        const session = {
          id,
          object: "checkout.session",
          mode: "payment",
          status: "open",
          payment_status: "unpaid",
          currency: checked.lines[0]["price_data][currency"],
          amount_total: checked.lines.reduce((s, l) => s + Number(l["price_data][unit_amount"]) * Number(l.quantity), 0),
          success_url: checked.success_url,
          cancel_url: checked.cancel_url,
          locale: checked.locale ?? null,
          metadata: checked.metadata,
          url: `${url}/pay/${id}`,
        };
        sessions.set(id, session);
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(session));
      }
      const pay = /^\/pay\/(cs_test_[0-9a-f]+)$/.exec(path);
      const session = pay && sessions.get(pay[1]);
      if (session && req.method === "GET") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(
          `<!doctype html><title>Stripe stand-in</title><h1>Pay ${session.amount_total} ${session.currency}</h1>` +
            `<form method="post"><button id="pay">Pay</button></form><a id="cancel" href="${session.cancel_url}">Back</a>`,
        );
      }
      if (session && req.method === "POST") {
        session.status = "complete";
        session.payment_status = "paid";
        const event = JSON.stringify({
          id: `evt_${randomBytes(12).toString("hex")}`,
          object: "event",
          type: "checkout.session.completed",
          data: { object: session },
        });
        const answer = await fetch(`${shopUrl}/api/stripe/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "stripe-signature": signature(webhookSecret, event) },
          body: event,
        });
        webhooks.push({ status: answer.status, body: await answer.json() });
        res.writeHead(303, { location: session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id) });
        return res.end();
      }
      res.writeHead(404).end();
    });
    server.listen(port, "127.0.0.1", () => {
      url = `http://127.0.0.1:${server.address().port}`;
      resolve({ url, requests, sessions, webhooks, close: () => new Promise((r) => server.close(r)) });
    });
  });
