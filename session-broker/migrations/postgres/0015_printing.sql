-- Printing (issue 7). A session's printer is a secret URI path token
-- (ipps://print-host/ipp/print/{token}); the table keeps only its SHA-256, bound to the
-- session's tenant and user, so a job is attributed by something the host cannot forge
-- from IPP's requesting-user-name. A token works while its session lives and ten minutes
-- after it ended (jobs spooled at logoff still arrive).
CREATE TABLE print_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    -- IPP job-ids handed out so far: the next job takes jobs + 1 under this row's lock
    jobs        BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX print_tokens_session ON print_tokens (session_id);

-- The placeholder print_jobs of 0001 was never written; the pipeline's table replaces it.
-- A job arrives through one token (IPP Print-Job, or Create-Job + Send-Document; the
-- gateway's RDP printer uses the same endpoint with source 'rdp'), is 'pending' until its
-- document arrives, 'processing' while it is spooled and rendered, then 'ready' (the PDF
-- is at <print.data_dir>/<tenant_id>/jobs/<id>.pdf), 'refused' (reason = a refusal code)
-- or 'cancelled'. ipp_job_id is the IPP job-id, counted per token. purged_at marks a job
-- whose file retention removed; the row stays for the audit trail.
DROP TABLE print_jobs;
CREATE TABLE print_jobs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    session_id       TEXT NOT NULL REFERENCES sessions(id),
    token_id         TEXT NOT NULL REFERENCES print_tokens(id),
    ipp_job_id       BIGINT NOT NULL CHECK (ipp_job_id > 0),
    title            TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('rdp', 'ipp')),
    document_format  TEXT,
    -- what the sender claimed as requesting-user-name: recorded, never used to attribute
    requesting_user  TEXT,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'processing', 'ready', 'refused', 'cancelled')),
    reason           TEXT,
    received_bytes   BIGINT NOT NULL DEFAULT 0 CHECK (received_bytes >= 0),
    pages            BIGINT,
    bytes            BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    completed_at     BIGINT,
    expires_at       BIGINT NOT NULL,
    purged_at        BIGINT,
    UNIQUE (token_id, ipp_job_id)
);
CREATE INDEX print_jobs_user ON print_jobs (user_id, id);
CREATE INDEX print_jobs_expiry ON print_jobs (expires_at) WHERE purged_at IS NULL;
-- Jobs created whose document never came (IPP multiple-operation-time-out).
CREATE INDEX print_jobs_pending ON print_jobs (created_at) WHERE state = 'pending';

-- The command channel gains print_ready and print_refused.
ALTER TABLE session_commands DROP CONSTRAINT session_commands_kind_check;
ALTER TABLE session_commands ADD CONSTRAINT session_commands_kind_check CHECK (kind IN (
    'message', 'idle_warning', 'service_window_warning', 'session_limit_warning',
    'disconnect', 'logoff', 'print_ready', 'print_refused'));
