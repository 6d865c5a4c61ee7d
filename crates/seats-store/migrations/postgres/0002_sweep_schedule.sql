-- When the next periodic expiry sweep is due, shared by every node, so a period's sweep runs
-- on one node only (see Store::claim_sweep).
CREATE TABLE sweep_schedule (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    next_due BIGINT NOT NULL           -- microseconds since the Unix epoch
);
INSERT INTO sweep_schedule (id, next_due) VALUES (1, 0);
