-- Two changes to `users`, both found by the benchmark on PostgreSQL.
--
-- 1. `search` reads folded copies of email and name kept by PostgreSQL itself, indexed for
--    trigram search. Folding in the query (translate() per row, ~2 µs each) made a scan look
--    cheap to the planner and cost 50 ms at 10k users; over stored columns the planner sees
--    the trigram indexes' worth and a row's recheck is a plain LIKE. translate() folds
--    exactly A-Z, as SQLite's lower() does (PostgreSQL's lower() follows the locale).
--    The trigram indexes keep a short pending list (256 kB, not 4 MB): every search reads
--    that list through, so its length bounds a search's cost after a burst of writes.
--
-- 2. A seat change that leaves the user holding some seat (Access to Gateway, or one added
--    beside the other) changes no indexed column, so PostgreSQL rewrites the row in place
--    (a HOT update) and writes none of the table's eight indexes. That needs:
--    * room on the row's page: fillfactor 80 (the rewrite below applies it to every page);
--    * no index whose predicate names the seat flags: the expiry sweep's index moves from
--      `active_at WHERE access_seat OR gateway_seat` to `seat_active_at`, which is active_at
--      while the user holds a seat and NULL otherwise (generated columns are computed after
--      the BEFORE trigger that keeps active_at).
ALTER TABLE users
    SET (fillfactor = 80),
    ADD COLUMN email_fold TEXT COLLATE "C" NOT NULL
        GENERATED ALWAYS AS (translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) STORED,
    ADD COLUMN name_fold TEXT COLLATE "C" NOT NULL
        GENERATED ALWAYS AS (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) STORED,
    ADD COLUMN seat_active_at BIGINT
        GENERATED ALWAYS AS (CASE WHEN access_seat OR gateway_seat THEN active_at END) STORED;
DROP INDEX users_search_email;
DROP INDEX users_search_name;
CREATE INDEX users_search_email ON users USING gin (email_fold public.gin_trgm_ops)
    WITH (gin_pending_list_limit = 256);
CREATE INDEX users_search_name ON users USING gin (name_fold public.gin_trgm_ops)
    WITH (gin_pending_list_limit = 256);
DROP INDEX users_by_activity;
CREATE INDEX users_by_activity ON users (account_id, seat_active_at) WHERE seat_active_at IS NOT NULL;
