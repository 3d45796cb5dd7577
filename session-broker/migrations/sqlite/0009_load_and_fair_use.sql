-- Placement by load, host load reports, the capacity alarm and fair use between tenants.

-- The last load report of each host, as its agent sends it (PUT /hosts/{id}/load).
-- Percentages are stored in hundredths (basis points, 0..=10000) so both engines keep
-- exact integers. Placement ignores a report older than the pool's load_report_max_age_s.
CREATE TABLE host_load_reports (
    host_id       TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    sessions      BIGINT NOT NULL CHECK (sessions >= 0),
    cpu_bp        BIGINT NOT NULL CHECK (cpu_bp BETWEEN 0 AND 10000),
    memory_bp     BIGINT NOT NULL CHECK (memory_bp BETWEEN 0 AND 10000),
    reported_at   BIGINT NOT NULL
);

-- How placement weighs a pool's hosts and when its capacity alarm rings. A pool without
-- a row uses the defaults in code (model::PoolPlacement::default). capacity_low is the
-- alarm's last state, so only transitions are audited (pool.capacity_low/capacity_ok).
CREATE TABLE pool_placement (
    pool_id                 TEXT PRIMARY KEY REFERENCES host_pools(id) ON DELETE CASCADE,
    weight_sessions         BIGINT NOT NULL CHECK (weight_sessions BETWEEN 0 AND 100),
    weight_cpu              BIGINT NOT NULL CHECK (weight_cpu BETWEEN 0 AND 100),
    weight_memory           BIGINT NOT NULL CHECK (weight_memory BETWEEN 0 AND 100),
    -- Most sessions in 'launching' (logons in progress) per host; 0: no limit.
    max_logons_per_host     BIGINT NOT NULL CHECK (max_logons_per_host >= 0),
    load_report_max_age_s   BIGINT NOT NULL CHECK (load_report_max_age_s >= 1),
    -- The alarm rings when free seats fall under either threshold (NULL: that one off).
    capacity_alarm_percent  BIGINT CHECK (capacity_alarm_percent BETWEEN 0 AND 100),
    capacity_alarm_seats    BIGINT CHECK (capacity_alarm_seats >= 0),
    capacity_low            INTEGER NOT NULL DEFAULT 0 CHECK (capacity_low IN (0, 1)),
    capacity_changed_at     BIGINT,
    updated_at              BIGINT NOT NULL
);

-- Fair use: per-tenant limits (NULL: no limit). A tenant without a row has none.
CREATE TABLE tenant_limits (
    tenant_id                TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    max_sessions             BIGINT CHECK (max_sessions >= 0),
    max_sessions_per_user    BIGINT CHECK (max_sessions_per_user >= 0),
    launches_per_minute      BIGINT CHECK (launches_per_minute >= 0),
    api_requests_per_minute  BIGINT CHECK (api_requests_per_minute >= 0),
    updated_at               BIGINT NOT NULL
);

-- Per-minute counters shared by every broker and gateway node: one row per tenant, kind
-- and minute, incremented by one atomic upsert. No foreign key: rows live two minutes and
-- the janitor prunes them.
CREATE TABLE rate_counters (
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('launch', 'api')),
    window_start  BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, window_start)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);

-- Counting a tenant's live sessions for its limit.
CREATE INDEX sessions_tenant_state ON sessions (tenant_id, state);
CREATE INDEX sessions_user_state ON sessions (user_id, state);

-- Host agents: an API client bound to one host, allowed only to report its load.
-- SQLite cannot change a CHECK in place: the table is rebuilt (nothing refers to it).
CREATE TABLE api_clients_new (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    subject_cn  TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL CHECK (scope IN ('operator', 'tenant', 'host_agent')),
    tenant_id   TEXT REFERENCES tenants(id),
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    host_id     TEXT REFERENCES hosts(id) ON DELETE CASCADE,
    CHECK ((scope = 'operator' AND tenant_id IS NULL AND host_id IS NULL)
        OR (scope = 'tenant' AND tenant_id IS NOT NULL AND host_id IS NULL)
        OR (scope = 'host_agent' AND tenant_id IS NULL AND host_id IS NOT NULL))
);
INSERT INTO api_clients_new (id, name, subject_cn, scope, tenant_id, enabled, created_at,
                             updated_at, host_id)
    SELECT id, name, subject_cn, scope, tenant_id, enabled, created_at, updated_at, NULL
    FROM api_clients;
DROP TABLE api_clients;
ALTER TABLE api_clients_new RENAME TO api_clients;
