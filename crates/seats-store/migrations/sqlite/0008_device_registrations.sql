-- Device registrations (docs/api.md, "Device registrations"): each (user, device) row gets its
-- own id, the device's name and client version, and a revocation time. A revoked registration
-- stops counting as a device that is seen: the users' activity and device counts leave it out.
ALTER TABLE devices ADD COLUMN id TEXT;
ALTER TABLE devices ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN client_version TEXT;
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
UPDATE devices SET id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX devices_by_id ON devices (id);

DROP TRIGGER users_activity;
CREATE TRIGGER users_activity AFTER UPDATE OF last_successful_login, seat_granted_at ON users
WHEN old.last_successful_login IS NOT new.last_successful_login OR old.seat_granted_at IS NOT new.seat_granted_at BEGIN
    UPDATE users SET active_at = MAX(
        COALESCE(new.last_successful_login, 0), COALESCE(new.seat_granted_at, 0),
        COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = new.id AND d.revoked_at IS NULL), 0))
    WHERE seq = new.seq;
END;

DROP TRIGGER devices_activity_insert;
CREATE TRIGGER devices_activity_insert AFTER INSERT ON devices WHEN new.revoked_at IS NULL BEGIN
    UPDATE users SET active_at = MAX(active_at, new.last_seen_at) WHERE id = new.user_id;
END;

DROP TRIGGER devices_activity_update;
CREATE TRIGGER devices_activity_update AFTER UPDATE OF last_seen_at, revoked_at ON devices BEGIN
    UPDATE users SET active_at = MAX(
        COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
        COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = new.user_id AND d.revoked_at IS NULL), 0))
    WHERE id = new.user_id;
END;

DROP TRIGGER devices_activity_delete;
CREATE TRIGGER devices_activity_delete AFTER DELETE ON devices BEGIN
    UPDATE users SET active_at = MAX(
        COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
        COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = old.user_id AND d.revoked_at IS NULL), 0))
    WHERE id = old.user_id;
END;
