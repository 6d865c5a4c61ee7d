-- When the next periodic expiry sweep is due, shared by every process on the database, so a
-- period's sweep runs once however many servers share the file (see Store::claim_sweep).
CREATE TABLE sweep_schedule (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    next_due INTEGER NOT NULL          -- microseconds since the Unix epoch
) STRICT;
INSERT INTO sweep_schedule (id, next_due) VALUES (1, 0);
