-- Paid orders, as the Stripe webhook records them: what was bought, how many and on which day.
-- Nothing about the buyer: no customer, e-mail, address, amount, session id or time of day.

-- Stripe events already recorded, by the SHA-256 of the event id, so a repeated delivery records
-- nothing. `day`: days since 1970-01-01 (UTC).
CREATE TABLE stripe_events (
  event_hash TEXT PRIMARY KEY NOT NULL,
  day INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per paid checkout. `id` only groups its lines (a basket for the next build's
-- bought-together); it is not Stripe's.
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  day INTEGER NOT NULL
);

CREATE TABLE order_lines (
  order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  item_id TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99)
);

CREATE INDEX order_lines_by_order ON order_lines (order_id);
