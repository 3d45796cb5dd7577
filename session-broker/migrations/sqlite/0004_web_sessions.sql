-- Web sessions of the portal: a browser that logged in (demo login today; SAML and SITHS
-- create the same rows later) holds a random token in a cookie; only its SHA-256 is
-- stored, so a copy of the database cannot be replayed as a cookie. Any gateway node
-- accepts a session it finds here. A session ends at the first of its idle expiry (moved
-- forward on use) and its absolute expiry, or at logout (the row is deleted).
CREATE TABLE web_sessions (
    id               TEXT PRIMARY KEY,
    -- lower-case hex SHA-256 of the cookie token
    token_hash       TEXT NOT NULL UNIQUE,
    tenant_id        TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    method           TEXT NOT NULL CHECK (method IN ('demo', 'saml', 'siths')),
    source_address   TEXT,
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    idle_expires_at  BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE,
    CHECK (idle_expires_at <= expires_at)
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
