-- Device registrations (docs/api.md, "Device registrations"): each (user, device) row gets its
-- own id, the device's name and client version, and a revocation time. A revoked registration
-- stops counting as a device that is seen: the users' activity and device counts leave it out.
ALTER TABLE devices ADD COLUMN id TEXT COLLATE "C" NOT NULL DEFAULT gen_random_uuid()::text;
ALTER TABLE devices ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN client_version TEXT;
ALTER TABLE devices ADD COLUMN revoked_at BIGINT;
CREATE UNIQUE INDEX devices_by_id ON devices (id);

CREATE OR REPLACE FUNCTION users_active_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.active_at := GREATEST(COALESCE(NEW.last_successful_login, 0), COALESCE(NEW.seat_granted_at, 0));
    ELSIF OLD.last_successful_login IS DISTINCT FROM NEW.last_successful_login
       OR OLD.seat_granted_at IS DISTINCT FROM NEW.seat_granted_at THEN
        NEW.active_at := GREATEST(COALESCE(NEW.last_successful_login, 0), COALESCE(NEW.seat_granted_at, 0),
            COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = NEW.id AND d.revoked_at IS NULL), 0));
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION devices_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.revoked_at IS NULL THEN
            UPDATE users SET active_at = GREATEST(active_at, NEW.last_seen_at) WHERE id = uid;
        END IF;
    ELSE
        UPDATE users SET active_at = GREATEST(COALESCE(last_successful_login, 0), COALESCE(seat_granted_at, 0),
            COALESCE((SELECT MAX(d.last_seen_at) FROM devices d WHERE d.user_id = uid AND d.revoked_at IS NULL), 0))
        WHERE id = uid;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER devices_activity ON devices;
CREATE TRIGGER devices_activity AFTER INSERT OR DELETE OR UPDATE OF last_seen_at, revoked_at ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_activity();
