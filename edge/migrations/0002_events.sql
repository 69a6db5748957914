-- What shoppers did with what they were shown (POST /api/events), for experiment reports and the
-- next build. No IP, user agent, history or client id: a random session id that the device rotates
-- at least daily, and the experiment variant the edge assigned. Deleted after the shop's retention
-- window (EVENT_RETENTION_DAYS, default 90) by the worker's daily cron.

-- Batches already stored, so a retried batch is stored once. `day`: days since 1970-01-01 (UTC).
CREATE TABLE event_batches (
  batch_id TEXT PRIMARY KEY NOT NULL,
  day INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
  day INTEGER NOT NULL,
  at INTEGER NOT NULL,
  session TEXT NOT NULL,
  variant TEXT NOT NULL,
  surface TEXT NOT NULL,
  kind TEXT NOT NULL,
  list TEXT,
  item_id TEXT NOT NULL,
  position INTEGER
);

CREATE INDEX events_by_day ON events (day);
CREATE INDEX event_batches_by_day ON event_batches (day);
