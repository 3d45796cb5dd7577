-- Service windows that recur weekly, the broker's record of what it did for each
-- occurrence, app and host versions, and rollouts (release rings: UTB first, PROD later).

-- A weekly window keeps its first occurrence in starts_at/ends_at; these name its weekdays
-- ('MO,TH'; NULL: one-off) and the instant occurrences stop starting (NULL: never).
ALTER TABLE service_windows ADD COLUMN recurrence_days TEXT;
ALTER TABLE service_windows ADD COLUMN recurrence_until BIGINT;
-- Sessions of the environment are logged off this many minutes after the start.
ALTER TABLE service_windows ADD COLUMN logoff_after_minutes BIGINT NOT NULL DEFAULT 0
    CHECK (logoff_after_minutes >= 0);

-- One row per step a broker node carried out for one occurrence of a window ('warn:30',
-- 'start', 'logoff', 'end'). The primary key is the claim: of several brokers inserting
-- the same step, one succeeds and acts, in the same transaction.
CREATE TABLE service_window_steps (
    window_id         TEXT NOT NULL,
    occurrence_start  BIGINT NOT NULL,
    step              TEXT NOT NULL,
    done_at           BIGINT NOT NULL,
    outcome           TEXT NOT NULL CHECK (outcome IN ('done', 'skipped')),
    detail            TEXT,
    PRIMARY KEY (window_id, occurrence_start, step)
);

-- Hosts a window occurrence drained and the state they return to after it.
CREATE TABLE service_window_drains (
    window_id         TEXT NOT NULL,
    occurrence_start  BIGINT NOT NULL,
    occurrence_end    BIGINT NOT NULL,
    host_id           TEXT NOT NULL,
    previous_state    TEXT NOT NULL CHECK (previous_state IN ('active', 'drain', 'maintenance')),
    restored_at       BIGINT,
    PRIMARY KEY (window_id, occurrence_start, host_id)
);
CREATE INDEX service_window_drains_open ON service_window_drains (occurrence_end) WHERE restored_at IS NULL;

-- The build an app runs (image or build label), the build a host reports, and the build a
-- rollout asked the host to be recycled to (NULL: nothing pending).
ALTER TABLE apps ADD COLUMN version TEXT;
ALTER TABLE hosts ADD COLUMN version TEXT;
ALTER TABLE hosts ADD COLUMN recycle_to TEXT;

-- An upgrade of an app to a version, ring by ring.
CREATE TABLE rollouts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    app_id          TEXT NOT NULL,
    version         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('scheduled', 'in_progress', 'done', 'halted')),
    prod_delay_ms   BIGINT NOT NULL CHECK (prod_delay_ms >= 0),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    halted_at       BIGINT
);
CREATE INDEX rollouts_app ON rollouts (app_id, id);

-- One step per environment: the app there, its pool, and where the step is.
CREATE TABLE rollout_steps (
    id                TEXT PRIMARY KEY,
    rollout_id        TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
    position          BIGINT NOT NULL,
    environment_id    TEXT NOT NULL,
    app_id            TEXT NOT NULL,
    pool_id           TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('scheduled', 'draining', 'done', 'halted')),
    not_before        BIGINT,
    window_id         TEXT,
    occurrence_start  BIGINT,
    started_at        BIGINT,
    finished_at       BIGINT,
    updated_at        BIGINT NOT NULL,
    UNIQUE (rollout_id, position)
);
CREATE INDEX rollout_steps_open ON rollout_steps (state, environment_id);
