-- Foundation schema (SQLite flavour; booleans are 0/1 integers): tenants, environments, pools, hosts, apps, users, groups,
-- entitlements, sessions, service windows, audit events, print jobs and API clients.
-- Ids are UUID v7 text; times are BIGINT unix milliseconds (UTC). JSON is stored as
-- text so the same repository code runs on SQLite and PostgreSQL.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE environments (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL CHECK (kind IN ('PROD', 'UTB')),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, kind),
    -- lets children prove their environment belongs to their tenant
    UNIQUE (id, tenant_id)
);

CREATE TABLE host_pools (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    description          TEXT NOT NULL,
    strategy             TEXT NOT NULL CHECK (strategy IN ('breadth_first', 'depth_first')),
    -- NULL: shared by every tenant; otherwise dedicated to this tenant
    dedicated_tenant_id  TEXT REFERENCES tenants(id),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE hosts (
    id                 TEXT PRIMARY KEY,
    pool_id            TEXT NOT NULL REFERENCES host_pools(id),
    name               TEXT NOT NULL,
    address            TEXT NOT NULL,
    port               BIGINT NOT NULL CHECK (port BETWEEN 1 AND 65535),
    capacity           BIGINT NOT NULL CHECK (capacity >= 0),
    state              TEXT NOT NULL CHECK (state IN ('active', 'drain', 'maintenance')),
    health             TEXT NOT NULL CHECK (health IN ('unknown', 'healthy', 'unhealthy')),
    health_checked_at  BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (pool_id, name)
);
CREATE INDEX hosts_pool_state ON hosts (pool_id, state);

CREATE TABLE apps (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    environment_id  TEXT NOT NULL,
    pool_id         TEXT NOT NULL REFERENCES host_pools(id),
    display_name    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('desktop', 'program')),
    program         TEXT,
    args            TEXT,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    FOREIGN KEY (environment_id, tenant_id) REFERENCES environments (id, tenant_id),
    UNIQUE (environment_id, display_name),
    UNIQUE (id, tenant_id),
    CHECK ((kind = 'desktop' AND program IS NULL) OR (kind = 'program' AND program IS NOT NULL))
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    name_id        TEXT NOT NULL,
    hsa_id         TEXT,
    display_name   TEXT NOT NULL,
    last_login_at  BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (tenant_id, name_id),
    UNIQUE (id, tenant_id)
);
CREATE INDEX users_hsa_id ON users (hsa_id);

CREATE TABLE groups (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    external_id  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, external_id),
    UNIQUE (id, tenant_id)
);

CREATE TABLE group_members (
    tenant_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (group_id, tenant_id) REFERENCES groups (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE entitlements (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    app_id      TEXT NOT NULL,
    group_id    TEXT,
    user_id     TEXT,
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (app_id, tenant_id) REFERENCES apps (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (group_id, tenant_id) REFERENCES groups (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE,
    CHECK ((group_id IS NULL) <> (user_id IS NULL)),
    UNIQUE (app_id, group_id),
    UNIQUE (app_id, user_id)
);
CREATE INDEX entitlements_group ON entitlements (group_id);
CREATE INDEX entitlements_user ON entitlements (user_id);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    app_id           TEXT NOT NULL REFERENCES apps(id),
    host_id          TEXT NOT NULL REFERENCES hosts(id),
    state            TEXT NOT NULL CHECK (state IN ('launching', 'active', 'disconnected', 'ended')),
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    disconnected_at  BIGINT,
    ended_at         BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX sessions_host_state ON sessions (host_id, state);
CREATE INDEX sessions_user_app_state ON sessions (user_id, app_id, state);
CREATE INDEX sessions_tenant ON sessions (tenant_id, id);

CREATE TABLE service_windows (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    environment_id  TEXT NOT NULL,
    starts_at       BIGINT NOT NULL,
    ends_at         BIGINT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    emergency INTEGER NOT NULL CHECK (emergency IN (0, 1)),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    FOREIGN KEY (environment_id, tenant_id) REFERENCES environments (id, tenant_id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX service_windows_env_time ON service_windows (environment_id, starts_at);

-- No foreign keys: the audit trail outlives the rows it describes.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    at              BIGINT NOT NULL,
    tenant_id       TEXT,
    actor_kind      TEXT NOT NULL CHECK (actor_kind IN ('api_client', 'operator', 'user', 'system', 'anonymous')),
    actor_id        TEXT,
    actor_name      TEXT NOT NULL,
    action          TEXT NOT NULL,
    target_type     TEXT,
    target_id       TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('success', 'refused', 'failed')),
    source_address  TEXT,
    before_json     TEXT,
    after_json      TEXT,
    detail          TEXT
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE print_jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    session_id    TEXT REFERENCES sessions(id),
    title         TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('received', 'converting', 'ready', 'delivered', 'failed', 'expired')),
    size_bytes    BIGINT NOT NULL CHECK (size_bytes >= 0),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    completed_at  BIGINT
);
CREATE INDEX print_jobs_user ON print_jobs (user_id, id);

CREATE TABLE api_clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    subject_cn  TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL CHECK (scope IN ('operator', 'tenant')),
    tenant_id   TEXT REFERENCES tenants(id),
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK ((scope = 'operator' AND tenant_id IS NULL) OR (scope = 'tenant' AND tenant_id IS NOT NULL))
);
