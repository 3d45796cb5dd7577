-- Fair-use counters without a per-tenant hot row (issue 5's benchmark aims): the same
-- tables as on PostgreSQL, where a tenant's live sessions and launches per minute are
-- spread over 8 shard rows so concurrent launches of a tenant do not queue on one row.
-- SQLite runs one write transaction at a time (BEGIN IMMEDIATE) and so has nothing to
-- spread: its triggers count on shard 0, and a launch's sums are always exact.
CREATE TABLE tenant_usage_shards (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    shard      SMALLINT NOT NULL CHECK (shard BETWEEN 0 AND 7),
    sessions   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shard)
);
INSERT INTO tenant_usage_shards (tenant_id, shard, sessions)
    SELECT tenant_id, 0, sessions FROM tenant_usage;

DROP TRIGGER sessions_seats_insert;
DROP TRIGGER sessions_seats_update;
DROP TRIGGER sessions_seats_delete;
DROP TABLE tenant_usage;
-- Readers (admin API, janitor, the sqlite3 shell) keep one row per tenant.
CREATE VIEW tenant_usage AS
    SELECT tenant_id, CAST(SUM(sessions) AS BIGINT) AS sessions
    FROM tenant_usage_shards GROUP BY tenant_id;

-- Launches per tenant and minute, by shard (the API's counts stay in rate_counters).
CREATE TABLE launch_counters (
    tenant_id     TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    shard         SMALLINT NOT NULL CHECK (shard BETWEEN 0 AND 7),
    count         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, window_start, shard)
);
CREATE INDEX launch_counters_window ON launch_counters (window_start);
INSERT INTO launch_counters (tenant_id, window_start, shard, count)
    SELECT tenant_id, window_start, 0, count FROM rate_counters WHERE kind = 'launch';
DELETE FROM rate_counters WHERE kind = 'launch';

CREATE TRIGGER sessions_seats_insert AFTER INSERT ON sessions
WHEN NEW.state <> 'ended'
BEGIN
    UPDATE hosts SET live_sessions = live_sessions + 1,
                     logons = logons + (NEW.state = 'launching')
        WHERE id = NEW.host_id;
    INSERT INTO tenant_usage_shards (tenant_id, shard, sessions) VALUES (NEW.tenant_id, 0, 1)
        ON CONFLICT (tenant_id, shard) DO UPDATE SET sessions = sessions + 1;
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
    UPDATE tenant_usage_shards SET sessions = sessions - (OLD.state <> 'ended')
        WHERE tenant_id = OLD.tenant_id AND shard = 0;
    INSERT INTO tenant_usage_shards (tenant_id, shard, sessions)
        VALUES (NEW.tenant_id, 0, (NEW.state <> 'ended'))
        ON CONFLICT (tenant_id, shard) DO UPDATE SET sessions = sessions + excluded.sessions;
END;

CREATE TRIGGER sessions_seats_delete AFTER DELETE ON sessions
WHEN OLD.state <> 'ended'
BEGIN
    UPDATE hosts SET live_sessions = live_sessions - 1,
                     logons = logons - (OLD.state = 'launching')
        WHERE id = OLD.host_id;
    UPDATE tenant_usage_shards SET sessions = sessions - 1
        WHERE tenant_id = OLD.tenant_id AND shard = 0;
END;
