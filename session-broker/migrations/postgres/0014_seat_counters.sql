-- Seat counters for placement and fair use without serialising launches (issue 5):
-- hosts.live_sessions and hosts.logons are the host's sessions that hold a seat
-- (launching, active, disconnected) and, of those, the ones still launching;
-- tenant_usage.sessions the tenant's live sessions. A trigger on `sessions` keeps them
-- equal to what COUNT(*) over `sessions` would say, in the same transaction as the row's
-- change, whichever code path (broker, gateway, janitor, raw SQL) changes it. A launch
-- takes a seat under the host row it reads the counter of (FOR NO KEY UPDATE), so two
-- brokers cannot both take a host's last one; the janitor recounts them from `sessions`
-- to heal any drift. Lock order: host row, then tenant_usage row.
ALTER TABLE hosts ADD COLUMN live_sessions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN logons BIGINT NOT NULL DEFAULT 0;

CREATE TABLE tenant_usage (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    sessions   BIGINT NOT NULL DEFAULT 0
);

UPDATE hosts SET
    live_sessions = (SELECT COUNT(*) FROM sessions s
                     WHERE s.host_id = hosts.id AND s.state <> 'ended'),
    logons = (SELECT COUNT(*) FROM sessions s
              WHERE s.host_id = hosts.id AND s.state = 'launching');
INSERT INTO tenant_usage (tenant_id, sessions)
    SELECT t.id, (SELECT COUNT(*) FROM sessions s WHERE s.tenant_id = t.id AND s.state <> 'ended')
    FROM tenants t;

CREATE FUNCTION hamn_sessions_seats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_live BIGINT := 0;
    old_logon BIGINT := 0;
    new_live BIGINT := 0;
    new_logon BIGINT := 0;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_live := CASE WHEN OLD.state <> 'ended' THEN 1 ELSE 0 END;
        old_logon := CASE WHEN OLD.state = 'launching' THEN 1 ELSE 0 END;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_live := CASE WHEN NEW.state <> 'ended' THEN 1 ELSE 0 END;
        new_logon := CASE WHEN NEW.state = 'launching' THEN 1 ELSE 0 END;
    END IF;
    -- Hosts first, then the tenant: the order a launch takes them in.
    IF TG_OP = 'UPDATE' AND OLD.host_id = NEW.host_id THEN
        IF old_live <> new_live OR old_logon <> new_logon THEN
            UPDATE hosts SET live_sessions = live_sessions + new_live - old_live,
                             logons = logons + new_logon - old_logon
                WHERE id = NEW.host_id;
        END IF;
    ELSE
        IF old_live <> 0 OR old_logon <> 0 THEN
            UPDATE hosts SET live_sessions = live_sessions - old_live,
                             logons = logons - old_logon
                WHERE id = OLD.host_id;
        END IF;
        IF new_live <> 0 OR new_logon <> 0 THEN
            UPDATE hosts SET live_sessions = live_sessions + new_live,
                             logons = logons + new_logon
                WHERE id = NEW.host_id;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.tenant_id = NEW.tenant_id THEN
        IF new_live > old_live THEN
            INSERT INTO tenant_usage (tenant_id, sessions) VALUES (NEW.tenant_id, 1)
                ON CONFLICT (tenant_id) DO UPDATE SET sessions = tenant_usage.sessions + 1;
        ELSIF new_live < old_live THEN
            UPDATE tenant_usage SET sessions = sessions - 1 WHERE tenant_id = NEW.tenant_id;
        END IF;
    ELSE
        IF old_live <> 0 THEN
            UPDATE tenant_usage SET sessions = sessions - old_live WHERE tenant_id = OLD.tenant_id;
        END IF;
        IF new_live <> 0 THEN
            INSERT INTO tenant_usage (tenant_id, sessions) VALUES (NEW.tenant_id, new_live)
                ON CONFLICT (tenant_id) DO UPDATE SET sessions = tenant_usage.sessions + excluded.sessions;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_seats AFTER INSERT OR DELETE OR UPDATE OF state, host_id, tenant_id
    ON sessions FOR EACH ROW EXECUTE FUNCTION hamn_sessions_seats();
