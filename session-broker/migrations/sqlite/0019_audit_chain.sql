-- The audit trail becomes append-only and hash-chained (issue 9, item 2).
--
-- Each row gets `seq` (its place in the one chain of the installation) and
-- `hash` = SHA-256(previous row's hash || canonical encoding of seq and the row's fields),
-- hex. `audit_chain` is the chain's single head row: the last seq and hash, and the anchor
-- left by retention (rows up to anchor_seq were deleted; anchor_hash is the hash of row
-- anchor_seq, the previous hash of the first row kept). Rows are written unsealed (no seq);
-- a broker node seals the committed ones every second in (at, id) order under the head's
-- lock (repo::audit::seal), so audited writes never queue on one lock and several brokers
-- on one database keep one chain. Rows older than this migration are sealed the same way
-- right after migrating.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);

CREATE TABLE audit_chain (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    seq          BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    anchor_seq   BIGINT NOT NULL,
    anchor_hash  TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, anchor_seq, anchor_hash) VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
     0, '0000000000000000000000000000000000000000000000000000000000000000');

-- No edits: the only update allowed is chaining a row not chained yet, fields unchanged.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN OLD.hash IS NOT NULL OR OLD.seq IS NOT NULL
    OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.tenant_id IS NOT OLD.tenant_id
    OR NEW.actor_kind IS NOT OLD.actor_kind OR NEW.actor_id IS NOT OLD.actor_id
    OR NEW.actor_name IS NOT OLD.actor_name OR NEW.action IS NOT OLD.action
    OR NEW.target_type IS NOT OLD.target_type OR NEW.target_id IS NOT OLD.target_id
    OR NEW.outcome IS NOT OLD.outcome OR NEW.source_address IS NOT OLD.source_address
    OR NEW.before_json IS NOT OLD.before_json OR NEW.after_json IS NOT OLD.after_json
    OR NEW.detail IS NOT OLD.detail
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- No deletes except retention's: whole prefixes of the chain, up to the anchor it recorded.
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.seq IS NULL OR OLD.seq > (SELECT anchor_seq FROM audit_chain WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: retention deletes only up to the anchor');
END;

-- The head only moves forward and is never removed.
CREATE TRIGGER audit_chain_forward BEFORE UPDATE ON audit_chain
WHEN NEW.seq < OLD.seq OR NEW.anchor_seq < OLD.anchor_seq OR NEW.anchor_seq > NEW.seq
    OR NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'audit_chain only moves forward');
END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is never deleted');
END;
