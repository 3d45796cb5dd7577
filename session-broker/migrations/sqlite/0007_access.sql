-- Access control of the identity work: web-session lifetimes per tenant, a CSRF token per
-- web session, roles (assigned to a user directly or granted by a group, so SAML group
-- attributes carry roles), DB-backed login throttling that holds across gateway nodes,
-- and security events raised when refused logins and launches show an attack pattern.

-- Idle and absolute lifetime of a tenant's web sessions; a tenant without a row uses the
-- gateway's defaults (WebSessionPolicy). Shortening applies to live sessions at once.
CREATE TABLE tenant_web_session_settings (
    tenant_id          TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    idle_timeout_secs  BIGINT NOT NULL CHECK (idle_timeout_secs BETWEEN 60 AND 86400),
    max_lifetime_secs  BIGINT NOT NULL CHECK (max_lifetime_secs BETWEEN 300 AND 604800),
    updated_at         BIGINT NOT NULL,
    CHECK (idle_timeout_secs <= max_lifetime_secs)
);

-- Lower-case hex SHA-256 of the session's CSRF token (derived from the cookie token, sent
-- back by the portal in a header). Sessions from before this column cannot prove a token,
-- so they end here: their users log in once more.
DELETE FROM web_sessions;
ALTER TABLE web_sessions ADD COLUMN csrf_hash TEXT NOT NULL DEFAULT '';

-- A role assigned to a user directly; no row means the plain user role.
CREATE TABLE user_roles (
    user_id     TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('tenant_admin', 'operator')),
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);

-- A role every member of the group holds (NULL: none).
ALTER TABLE groups ADD COLUMN grants_role TEXT CHECK (grants_role IN ('tenant_admin', 'operator'));

-- Failed logins per key (`addr:<ip>` or `account:<sha256 of the name>`), with the time
-- until which further attempts are refused (exponential backoff).
CREATE TABLE login_throttle (
    throttle_key      TEXT PRIMARY KEY,
    failures          BIGINT NOT NULL,
    last_failure_at   BIGINT NOT NULL,
    blocked_until     BIGINT NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_failure_at);

-- Attack patterns found in the audit log's refusals over a window. dedupe_key (kind,
-- tenant, source, window) makes detection idempotent across broker nodes.
CREATE TABLE security_events (
    id              TEXT PRIMARY KEY,
    at              BIGINT NOT NULL,
    tenant_id       TEXT,
    kind            TEXT NOT NULL CHECK (kind IN ('login_failures', 'signature_failures', 'replays', 'probing')),
    source_address  TEXT,
    event_count     BIGINT NOT NULL,
    window_start    BIGINT NOT NULL,
    window_end      BIGINT NOT NULL,
    detail          TEXT NOT NULL,
    dedupe_key      TEXT NOT NULL UNIQUE
);
CREATE INDEX security_events_tenant ON security_events (tenant_id, id);
CREATE INDEX audit_events_outcome_at ON audit_events (outcome, at);
