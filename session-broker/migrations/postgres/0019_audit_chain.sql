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
ALTER TABLE audit_events ADD COLUMN seq BIGINT, ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);

CREATE TABLE audit_chain (
    id           SMALLINT PRIMARY KEY CHECK (id = 1),
    seq          BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    anchor_seq   BIGINT NOT NULL,
    anchor_hash  TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, hash, anchor_seq, anchor_hash) VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
     0, '0000000000000000000000000000000000000000000000000000000000000000');

-- No edits: the only update allowed is chaining a row not chained yet, fields unchanged.
-- No deletes except retention's: whole prefixes of the chain, up to the anchor it recorded.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.hash IS NULL AND OLD.seq IS NULL
           AND (NEW.id, NEW.at, NEW.tenant_id, NEW.actor_kind, NEW.actor_id, NEW.actor_name,
                NEW.action, NEW.target_type, NEW.target_id, NEW.outcome, NEW.source_address,
                NEW.before_json, NEW.after_json, NEW.detail)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.tenant_id, OLD.actor_kind, OLD.actor_id, OLD.actor_name,
                OLD.action, OLD.target_type, OLD.target_id, OLD.outcome, OLD.source_address,
                OLD.before_json, OLD.after_json, OLD.detail)
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    IF OLD.seq IS NOT NULL AND OLD.seq <= (SELECT anchor_seq FROM audit_chain WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: retention deletes only up to the anchor';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE FUNCTION audit_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% cannot be truncated', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();

-- The head only moves forward and is never removed.
CREATE FUNCTION audit_chain_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_chain is never deleted';
    END IF;
    IF NEW.seq < OLD.seq OR NEW.anchor_seq < OLD.anchor_seq OR NEW.anchor_seq > NEW.seq
       OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'audit_chain only moves forward';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_forward();
