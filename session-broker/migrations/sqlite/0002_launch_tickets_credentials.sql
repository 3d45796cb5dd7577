-- Launch tickets (single use), host credentials per pool (sealed at rest) and the host
-- certificate policy of each pool.

-- One row per issued launch ticket. No foreign keys: rows live minutes and are pruned,
-- and the consume UPDATE must stay a single-row write.
CREATE TABLE launch_tickets (
    id           TEXT PRIMARY KEY,
    key_id       TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    host_id      TEXT NOT NULL,
    app_id       TEXT NOT NULL,
    path         TEXT NOT NULL CHECK (path IN ('browser', 'native')),
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT,
    CHECK (expires_at >= issued_at)
);
CREATE INDEX launch_tickets_expires ON launch_tickets (expires_at);
CREATE INDEX launch_tickets_session ON launch_tickets (session_id);

-- The Windows account the gateway uses on a pool's hosts. The password is AES-256-GCM
-- ciphertext (base64) under the broker's secrets key `key_id`, with its nonce.
CREATE TABLE pool_credentials (
    pool_id            TEXT PRIMARY KEY REFERENCES host_pools(id) ON DELETE CASCADE,
    username           TEXT NOT NULL,
    domain             TEXT,
    secret_ciphertext  TEXT NOT NULL,
    secret_nonce       TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- How the gateway checks the certificate of a pool's hosts: 'verify' (against the
-- system roots, or host_ca_pem when set), 'pin' (SHA-256 fingerprints, JSON array of hex
-- in host_cert_pins) or 'ignore' (lab pools; the gateway logs a warning).
ALTER TABLE host_pools ADD COLUMN host_cert_policy TEXT NOT NULL DEFAULT 'verify'
    CHECK (host_cert_policy IN ('verify', 'pin', 'ignore'));
ALTER TABLE host_pools ADD COLUMN host_ca_pem TEXT;
ALTER TABLE host_pools ADD COLUMN host_cert_pins TEXT NOT NULL DEFAULT '[]';
