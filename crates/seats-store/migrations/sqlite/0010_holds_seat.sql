-- Whether a user holds a seat (Access, Gateway or both) becomes a column of its own, assigned
-- only by the statements that grant or free a seat. SQLite rewrites a partial index's entry
-- in every row whose update assigns a column named in the index's condition: with the
-- condition on access_seat and gateway_seat, every seat edit deleted and inserted the user's
-- users_by_activity entry, though trading one kind of seat for the other leaves the user a
-- holder with the same activity. The writers keep holds_seat = (access_seat OR gateway_seat)
-- (tests/maintained.rs checks it after every step); seats in use follow it.
ALTER TABLE users ADD COLUMN holds_seat INTEGER NOT NULL DEFAULT 0;
UPDATE users SET holds_seat = 1 WHERE access_seat = 1 OR gateway_seat = 1;

DROP INDEX users_by_activity;
CREATE INDEX users_by_activity ON users (account_id, active_at) WHERE holds_seat = 1;

DROP TRIGGER users_count_seat;
CREATE TRIGGER users_count_seat AFTER UPDATE OF holds_seat ON users
WHEN old.holds_seat <> new.holds_seat BEGIN
    UPDATE accounts SET seats_in_use = seats_in_use + new.holds_seat - old.holds_seat
    WHERE id = new.account_id;
END;
