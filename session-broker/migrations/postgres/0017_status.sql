-- (PostgreSQL) The public status page: incidents an operator posts and updates, and the availability
-- the gateway nodes measure with their own health probes.

-- A disturbance or outage of one environment of a tenant (environment_id NULL: all of the
-- tenant's environments). resolved_at is set exactly when state becomes 'resolved'.
CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    environment_id  TEXT,
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('disturbance', 'outage')),
    state           TEXT NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    started_at      BIGINT NOT NULL,
    resolved_at     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    FOREIGN KEY (environment_id, tenant_id) REFERENCES environments (id, tenant_id),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE INDEX incidents_tenant ON incidents (tenant_id, id);
CREATE INDEX incidents_resolved ON incidents (resolved_at);

-- What the operators said, in order; each update names the state it left the incident in.
CREATE TABLE incident_updates (
    id              TEXT PRIMARY KEY,
    incident_id     TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    message         TEXT NOT NULL,
    author          TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, id);

-- One row per environment and minute (unix minutes) that some gateway node probed:
-- available = 1 when a probe found an accepting host in every pool of the environment's
-- apps. Several nodes write the same minute; an available sample wins (users reach the
-- hosts through whichever node answers them).
CREATE TABLE availability_samples (
    environment_id  TEXT NOT NULL,
    minute          BIGINT NOT NULL,
    available       BIGINT NOT NULL CHECK (available IN (0, 1)),
    recorded_at     BIGINT NOT NULL,
    PRIMARY KEY (environment_id, minute)
);
-- Old samples are pruned by minute.
CREATE INDEX availability_samples_minute ON availability_samples (minute);
