-- The portal language a user chose ('sv' or 'en'); NULL: never chosen, the browser's
-- choice (Swedish by default) applies. Kept per user so it follows them between browsers.
ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('sv', 'en'));

-- Messages from admins shown as banners in the portal between starts_at and ends_at.
-- tenant_id NULL: to every tenant (only operators write those). Ending one early moves
-- ends_at to the moment it ended (never before starts_at), so the row stays for the record.
CREATE TABLE announcements (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning')),
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX announcements_tenant_end ON announcements (tenant_id, ends_at);
