-- What the poller must remember across restarts (and hand over to a standby
-- poller), one row per polled feed: the Events API URL, so pointing
-- GITHUB_EVENTS_URL elsewhere never reuses another feed's ETag.
--
-- A row describes the newest round whose pages are all stored, and rounds
-- before it: the poller saves it only then, so a restart never sends the
-- ETag of a page whose events were lost with the process.
CREATE TABLE poller_state (
    feed            text        NOT NULL PRIMARY KEY,
    -- ETag of that round's first page, sent as If-None-Match by the next
    -- round ('' when the round did not reach its last page: no ETag is
    -- trusted then).
    etag            text        NOT NULL DEFAULT '',
    -- When that round started, and when the next round is due (the wait the
    -- poller chose); a restarted poller waits until then.
    round_at        timestamptz NOT NULL,
    next_round_at   timestamptz NOT NULL,
    -- created_at of the newest event the poller has fetched from the feed.
    newest_event_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

---- create above / drop below ----

DROP TABLE poller_state;
