-- Purging personal data keeps the audit chain verifiable (issue 9, item 5).
--
-- Rows chained from now on use canonical form v2 (`chain_v` = 2): the chain hashes a keyed
-- pseudonym, 'p:' + the first 32 hex digits of HMAC-SHA256(key, value), of each personal
-- field (actor_id, actor_name, target_id, source_address, before_json, after_json, detail)
-- instead of its raw value. A purge may then replace a raw value by that pseudonym (in the
-- JSON columns as the JSON string "p:…") and the row still hashes the same. Rows chained
-- before this migration keep `chain_v` NULL (v1, raw values hashed) and verify as before:
-- their hashes were computed over the raw values, so rewriting them would be exactly the
-- edit the chain exists to reveal.
--
-- `audit_pseudonym_key` holds the installation's one HMAC key (hex), made on first use by
-- repo::audit::pseudonym_key. It is never changed or removed: every v2 row depends on it.
ALTER TABLE audit_events ADD COLUMN chain_v BIGINT;

CREATE TABLE audit_pseudonym_key (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    key_hex     TEXT NOT NULL CHECK (length(key_hex) = 64),
    created_at  BIGINT NOT NULL
);
CREATE FUNCTION audit_pseudonym_key_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_pseudonym_key is never changed or deleted';
END
$$;
CREATE TRIGGER audit_pseudonym_key_fixed BEFORE UPDATE OR DELETE ON audit_pseudonym_key
    FOR EACH ROW EXECUTE FUNCTION audit_pseudonym_key_fixed();
CREATE TRIGGER audit_pseudonym_key_no_truncate BEFORE TRUNCATE ON audit_pseudonym_key
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();

-- Whether a personal field may go from `was` to `becomes` in a purge: unchanged, or a value
-- that is not a pseudonym yet replaced by one (`pattern` says the column's form). The
-- trigger cannot check the pseudonym is the right one (it has no key, on purpose);
-- `hamn audit verify` does.
CREATE FUNCTION audit_pseudonymised(was TEXT, becomes TEXT, pattern TEXT) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT becomes IS NOT DISTINCT FROM was
        OR (was IS NOT NULL AND was !~ pattern AND becomes IS NOT NULL AND becomes ~ pattern)
$$;

-- Updates allowed: chaining a row not chained yet (fields unchanged), and a purge of a
-- chained v2 row, which may replace personal fields by their pseudonyms and nothing else.
-- No deletes except retention's: whole prefixes of the chain, up to the anchor it recorded.
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    text_form CONSTANT TEXT := '^p:[0-9a-f]{32}$';
    json_form CONSTANT TEXT := '^"p:[0-9a-f]{32}"$';
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
        IF OLD.hash IS NOT NULL AND OLD.seq IS NOT NULL AND OLD.chain_v = 2
           AND (NEW.chain_v, NEW.seq, NEW.hash, NEW.id, NEW.at, NEW.tenant_id,
                NEW.actor_kind, NEW.action, NEW.target_type, NEW.outcome)
               IS NOT DISTINCT FROM
               (OLD.chain_v, OLD.seq, OLD.hash, OLD.id, OLD.at, OLD.tenant_id,
                OLD.actor_kind, OLD.action, OLD.target_type, OLD.outcome)
           AND COALESCE(audit_pseudonymised(OLD.actor_id, NEW.actor_id, text_form), false)
           AND COALESCE(audit_pseudonymised(OLD.actor_name, NEW.actor_name, text_form), false)
           AND COALESCE(audit_pseudonymised(OLD.target_id, NEW.target_id, text_form), false)
           AND COALESCE(audit_pseudonymised(OLD.source_address, NEW.source_address, text_form),
                        false)
           AND COALESCE(audit_pseudonymised(OLD.detail, NEW.detail, text_form), false)
           AND COALESCE(audit_pseudonymised(OLD.before_json, NEW.before_json, json_form), false)
           AND COALESCE(audit_pseudonymised(OLD.after_json, NEW.after_json, json_form), false)
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
