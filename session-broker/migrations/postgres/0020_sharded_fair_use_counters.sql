-- Fair-use counters without a per-tenant hot row (issue 5's benchmark aims).
--
-- A tenant's live sessions and its launches per minute were one row each, locked by
-- every launch of the tenant from its session insert to its commit (a WAL flush): the
-- tenant's launches queued on them. Each is now spread over 8 shard rows; a launch
-- raises one shard (the sessions trigger picks one at random) and then, in a later
-- statement, reads the sum. Other launches hold at most one uncommitted increment per
-- other shard (a shard's row lock is held to commit), so a sum S seen after one's own
-- increment means at most S + 7 sessions can ever commit: S + 7 <= limit is safe without
-- further locks. A launch closer to its limit runs again in exact mode
-- (hamn_lock_fair_use below: every shard locked, the sum exact). Lock order: host row,
-- tenant_usage_shards by shard, launch_counters by shard.
CREATE TABLE tenant_usage_shards (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    shard      SMALLINT NOT NULL CHECK (shard BETWEEN 0 AND 7),
    sessions   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shard)
);
INSERT INTO tenant_usage_shards (tenant_id, shard, sessions)
    SELECT tenant_id, 0, sessions FROM tenant_usage;
DROP TABLE tenant_usage;
-- Readers (admin API, janitor, psql) keep one row per tenant.
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

CREATE OR REPLACE FUNCTION hamn_sessions_seats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_live BIGINT := 0;
    old_logon BIGINT := 0;
    new_live BIGINT := 0;
    new_logon BIGINT := 0;
    -- One shard per row change: concurrent launches of a tenant rarely meet.
    pick SMALLINT := floor(random() * 8)::SMALLINT;
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
            INSERT INTO tenant_usage_shards (tenant_id, shard, sessions)
                VALUES (NEW.tenant_id, pick, 1)
                ON CONFLICT (tenant_id, shard) DO UPDATE
                SET sessions = tenant_usage_shards.sessions + 1;
        ELSIF new_live < old_live THEN
            UPDATE tenant_usage_shards SET sessions = sessions - 1
                WHERE tenant_id = NEW.tenant_id AND shard = pick;
            IF NOT FOUND THEN
                UPDATE tenant_usage_shards SET sessions = sessions - 1
                    WHERE tenant_id = NEW.tenant_id AND shard = (SELECT min(shard)
                        FROM tenant_usage_shards WHERE tenant_id = NEW.tenant_id);
            END IF;
        END IF;
    ELSE
        IF old_live <> 0 THEN
            -- An existing shard (a deleted tenant's rows may be gone: then nothing).
            UPDATE tenant_usage_shards SET sessions = sessions - old_live
                WHERE tenant_id = OLD.tenant_id AND shard = pick;
            IF NOT FOUND THEN
                UPDATE tenant_usage_shards SET sessions = sessions - old_live
                    WHERE tenant_id = OLD.tenant_id AND shard = (SELECT min(shard)
                        FROM tenant_usage_shards WHERE tenant_id = OLD.tenant_id);
            END IF;
        END IF;
        IF new_live <> 0 THEN
            INSERT INTO tenant_usage_shards (tenant_id, shard, sessions)
                VALUES (NEW.tenant_id, pick, new_live)
                ON CONFLICT (tenant_id, shard) DO UPDATE
                SET sessions = tenant_usage_shards.sessions + excluded.sessions;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- A launch's count, after its session row (if new) is stored: one launch counted on a
-- random shard, then, in a statement of its own (a fresh snapshot that sees every
-- increment committed meanwhile), the tenant's launches this minute and live sessions.
CREATE FUNCTION hamn_count_launch(p_tenant TEXT, p_window BIGINT)
    RETURNS TABLE (launches BIGINT, sessions BIGINT) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO launch_counters (tenant_id, window_start, shard, count)
        VALUES (p_tenant, p_window, floor(random() * 8)::SMALLINT, 1)
        ON CONFLICT (tenant_id, window_start, shard) DO UPDATE
        SET count = launch_counters.count + 1;
    RETURN QUERY SELECT
        (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM launch_counters c
            WHERE c.tenant_id = p_tenant AND c.window_start = p_window),
        (SELECT CAST(COALESCE(SUM(u.sessions), 0) AS BIGINT) FROM tenant_usage_shards u
            WHERE u.tenant_id = p_tenant);
END
$$;

-- Exact mode: every shard of the tenant's sessions and of its launch counter of the
-- window, locked in shard order (rows made when missing), so no other launch of the
-- tenant holds an uncommitted increment and the sums read next are exact.
CREATE FUNCTION hamn_lock_fair_use(p_tenant TEXT, p_window BIGINT)
    RETURNS INTEGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_usage_shards (tenant_id, shard, sessions)
        SELECT p_tenant, s, 0 FROM generate_series(0, 7) s ORDER BY s
        ON CONFLICT (tenant_id, shard) DO UPDATE SET sessions = tenant_usage_shards.sessions;
    INSERT INTO launch_counters (tenant_id, window_start, shard, count)
        SELECT p_tenant, p_window, s, 0 FROM generate_series(0, 7) s ORDER BY s
        ON CONFLICT (tenant_id, window_start, shard) DO UPDATE SET count = launch_counters.count;
    RETURN 1;
END
$$;
