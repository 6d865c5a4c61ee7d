-- An account's audit_count is kept by the statements that write its audit events (one update
-- for a whole batch: a 1000-seat PATCH writes up to 1000 events) instead of by a trigger that
-- updated the account's row once per event. A bulk load (a seed, an import, a restore) counts
-- the events it wrote once, at its end.
DROP TRIGGER audit_count_insert;
