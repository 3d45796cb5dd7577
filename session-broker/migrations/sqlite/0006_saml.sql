-- SAML 2.0 per tenant: the IdP a tenant trusts and how its assertions map to users
-- (tenant_saml), the AuthnRequests in flight, each bound to one browser
-- (saml_requests, removed on first use), assertion ids seen until they expire (the replay
-- cache), what a SAML web session needs for single logout (saml_web_sessions) and the
-- personnummer where a tenant maps it (saml_user_attributes).
-- Lists are JSON arrays stored as text so the same repository code runs on both engines.
CREATE TABLE tenant_saml (
    tenant_id               TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- the IdP's metadata document as given or as fetched once from idp_metadata_url (pinned)
    idp_metadata_xml        TEXT NOT NULL,
    idp_metadata_url        TEXT,
    idp_entity_id           TEXT NOT NULL,
    sp_entity_id            TEXT NOT NULL,
    -- JSON arrays of AuthnContextClassRef URIs
    requested_authn_contexts TEXT NOT NULL,
    accepted_mfa_contexts   TEXT NOT NULL,
    force_authn INTEGER NOT NULL CHECK (force_authn IN (0, 1)),
    -- attribute names (NULL: not mapped); NameID is always the user's key
    attr_hsa_id             TEXT,
    attr_personal_number    TEXT,
    attr_display_name       TEXT,
    attr_groups             TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE TABLE saml_requests (
    -- the opaque RelayState handle sent with the AuthnRequest
    relay_state    TEXT PRIMARY KEY,
    -- our AuthnRequest ID, awaited as InResponseTo
    request_id     TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- lower-case hex SHA-256 of the browser's login-attempt cookie
    browser_hash   TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX saml_requests_expires ON saml_requests (expires_at);

CREATE TABLE saml_assertions_seen (
    issuer        TEXT NOT NULL,
    assertion_id  TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
CREATE INDEX saml_assertions_seen_expires ON saml_assertions_seen (expires_at);

CREATE TABLE saml_web_sessions (
    web_session_id  TEXT PRIMARY KEY REFERENCES web_sessions(id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL,
    name_id         TEXT NOT NULL,
    name_id_format  TEXT,
    session_index   TEXT
);

-- The personnummer (urn:oid:1.2.752.29.4.13) of a SAML user, kept only when the tenant maps
-- that attribute; a user without one has no row.
CREATE TABLE saml_user_attributes (
    user_id          TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    personal_number  TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);
