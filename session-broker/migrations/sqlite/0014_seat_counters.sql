-- Seat counters for placement and fair use without serialising launches (issue 5):
-- hosts.live_sessions and hosts.logons are the host's sessions that hold a seat
-- (launching, active, disconnected) and, of those, the ones still launching;
-- tenant_usage.sessions the tenant's live sessions. Triggers on `sessions` keep them
-- equal to what COUNT(*) over `sessions` would say, in the same transaction as the row's
-- change, whichever code path (broker, gateway, janitor, raw SQL) changes it. A launch
-- takes a seat under the host row it reads the counter of, so two brokers cannot both
-- take a host's last one; the janitor recounts them from `sessions` to heal any drift.
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

CREATE TRIGGER sessions_seats_insert AFTER INSERT ON sessions
WHEN NEW.state <> 'ended'
BEGIN
    UPDATE hosts SET live_sessions = live_sessions + 1,
                     logons = logons + (NEW.state = 'launching')
        WHERE id = NEW.host_id;
    INSERT OR IGNORE INTO tenant_usage (tenant_id, sessions) VALUES (NEW.tenant_id, 0);
    UPDATE tenant_usage SET sessions = sessions + 1 WHERE tenant_id = NEW.tenant_id;
END;

CREATE TRIGGER sessions_seats_update AFTER UPDATE OF state, host_id, tenant_id ON sessions
WHEN OLD.state IS NOT NEW.state OR OLD.host_id IS NOT NEW.host_id
     OR OLD.tenant_id IS NOT NEW.tenant_id
BEGIN
    UPDATE hosts SET live_sessions = live_sessions - (OLD.state <> 'ended'),
                     logons = logons - (OLD.state = 'launching')
        WHERE id = OLD.host_id;
    UPDATE hosts SET live_sessions = live_sessions + (NEW.state <> 'ended'),
                     logons = logons + (NEW.state = 'launching')
        WHERE id = NEW.host_id;
    UPDATE tenant_usage SET sessions = sessions - (OLD.state <> 'ended')
        WHERE tenant_id = OLD.tenant_id;
    INSERT OR IGNORE INTO tenant_usage (tenant_id, sessions) VALUES (NEW.tenant_id, 0);
    UPDATE tenant_usage SET sessions = sessions + (NEW.state <> 'ended')
        WHERE tenant_id = NEW.tenant_id;
END;

CREATE TRIGGER sessions_seats_delete AFTER DELETE ON sessions
WHEN OLD.state <> 'ended'
BEGIN
    UPDATE hosts SET live_sessions = live_sessions - 1,
                     logons = logons - (OLD.state = 'launching')
        WHERE id = OLD.host_id;
    UPDATE tenant_usage SET sessions = sessions - 1 WHERE tenant_id = OLD.tenant_id;
END;
