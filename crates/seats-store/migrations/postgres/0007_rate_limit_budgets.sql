-- Request budgets every node shares (the rate limit and the failed-authentication limits):
-- one row per subject and its current window, in slices leased to nodes
-- (seats-store/src/postgres/budgets.rs). UNLOGGED: budgets are moments, not records; they
-- are not written to the WAL, so a crash or a failover starts every window afresh.
CREATE UNLOGGED TABLE rate_limit_budgets (
    subject      TEXT PRIMARY KEY,
    -- When the window opened and when it ends, unix microseconds on the database's clock.
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    -- Requests leased to nodes in this window (less what they gave back).
    taken        BIGINT NOT NULL,
    -- The slice the last lease handed out (read back by the node that took it).
    last_slice   BIGINT NOT NULL
);
