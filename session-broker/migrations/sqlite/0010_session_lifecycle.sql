-- Session lifecycle: the command channel from the broker to the gateway node that serves a
-- session, host-side commands a host agent carries out (log a Windows user off), and each
-- pool's timeouts. No foreign keys on the command tables: rows are pruned by the janitor
-- and the audit trail, not these rows, is the record.

-- One row per command to a session (message, warning, disconnect, logoff). A gateway node
-- claims the pending commands of the sessions it serves with one conditional UPDATE, so
-- exactly one node acts on each; it marks the row done (or failed) once the session's
-- task has acted. Rows nobody claims by expires_at are marked expired by the janitor.
CREATE TABLE session_commands (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('message', 'idle_warning',
                     'service_window_warning', 'session_limit_warning', 'disconnect', 'logoff')),
    -- the command's fields as JSON (text, sender, at, reason)
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'failed', 'expired')),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    claimed_by   TEXT,
    claimed_at   BIGINT,
    finished_at  BIGINT,
    outcome      TEXT
);
-- The gateways' poll: pending commands of the sessions a node serves.
CREATE INDEX session_commands_pending ON session_commands (session_id, id) WHERE state = 'pending';
-- The janitor: open commands past their expiry.
CREATE INDEX session_commands_open ON session_commands (expires_at) WHERE state IN ('pending', 'claimed');
-- "Was this session already warned?" and the admin API's listing per session.
CREATE INDEX session_commands_session ON session_commands (session_id, kind);

-- Commands for a host agent on the RDP host. A browser RDP client cannot log a Windows user
-- off by protocol (closing the connection only disconnects the Windows session), so a
-- logoff is also queued here for an agent on the host to carry out (logoff.exe / WTS API).
CREATE TABLE host_commands (
    id           TEXT PRIMARY KEY,
    host_id      TEXT NOT NULL,
    tenant_id    TEXT,
    session_id   TEXT,
    user_id      TEXT,
    kind         TEXT NOT NULL CHECK (kind IN ('logoff')),
    reason       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    outcome      TEXT
);
CREATE INDEX host_commands_pending ON host_commands (host_id, id) WHERE state = 'pending';
CREATE INDEX host_commands_created ON host_commands (created_at);

-- Per-pool timeouts in seconds; 0 switches one off. idle: no user input → warning, then
-- disconnect (4301); disconnect: a session disconnected this long is logged off; max
-- session: warning, then logoff; warning lead: how long before an idle disconnect or a
-- maximum-length logoff the user is warned.
ALTER TABLE host_pools ADD COLUMN idle_timeout_secs BIGINT NOT NULL DEFAULT 3600
    CHECK (idle_timeout_secs BETWEEN 0 AND 2592000);
ALTER TABLE host_pools ADD COLUMN disconnect_timeout_secs BIGINT NOT NULL DEFAULT 14400
    CHECK (disconnect_timeout_secs BETWEEN 0 AND 2592000);
ALTER TABLE host_pools ADD COLUMN max_session_secs BIGINT NOT NULL DEFAULT 43200
    CHECK (max_session_secs BETWEEN 0 AND 2592000);
ALTER TABLE host_pools ADD COLUMN timeout_warning_secs BIGINT NOT NULL DEFAULT 300
    CHECK (timeout_warning_secs BETWEEN 0 AND 86400);
