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
ALTER TABLE audit_events ADD COLUMN chain_v INTEGER;

CREATE TABLE audit_pseudonym_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key_hex     TEXT NOT NULL CHECK (length(key_hex) = 64),
    created_at  BIGINT NOT NULL
);
CREATE TRIGGER audit_pseudonym_key_no_update BEFORE UPDATE ON audit_pseudonym_key
BEGIN
    SELECT RAISE(ABORT, 'audit_pseudonym_key is never changed');
END;
CREATE TRIGGER audit_pseudonym_key_no_delete BEFORE DELETE ON audit_pseudonym_key
BEGIN
    SELECT RAISE(ABORT, 'audit_pseudonym_key is never deleted');
END;

-- Updates allowed: chaining a row not chained yet (fields unchanged), and a purge of a
-- chained v2 row, which may replace each personal field that is not a pseudonym yet by a
-- pseudonym and change nothing else. The trigger cannot check the pseudonym is the right
-- one (it has no key, on purpose); `hamn audit verify` does. COALESCE: a NULL anywhere
-- must refuse, never let through.
DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT COALESCE((
    (OLD.hash IS NULL AND OLD.seq IS NULL
     AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.tenant_id IS OLD.tenant_id
     AND NEW.actor_kind IS OLD.actor_kind AND NEW.actor_id IS OLD.actor_id
     AND NEW.actor_name IS OLD.actor_name AND NEW.action IS OLD.action
     AND NEW.target_type IS OLD.target_type AND NEW.target_id IS OLD.target_id
     AND NEW.outcome IS OLD.outcome AND NEW.source_address IS OLD.source_address
     AND NEW.before_json IS OLD.before_json AND NEW.after_json IS OLD.after_json
     AND NEW.detail IS OLD.detail)
    OR
    (OLD.seq IS NOT NULL AND OLD.hash IS NOT NULL AND OLD.chain_v = 2
     AND NEW.chain_v IS OLD.chain_v AND NEW.seq IS OLD.seq AND NEW.hash IS OLD.hash
     AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.tenant_id IS OLD.tenant_id
     AND NEW.actor_kind IS OLD.actor_kind AND NEW.action IS OLD.action
     AND NEW.target_type IS OLD.target_type AND NEW.outcome IS OLD.outcome
     AND (NEW.actor_id IS OLD.actor_id OR (OLD.actor_id IS NOT NULL
          AND COALESCE(NOT (length(OLD.actor_id) = 34 AND substr(OLD.actor_id, 1, 2) = 'p:'), 1)
          AND length(NEW.actor_id) = 34 AND substr(NEW.actor_id, 1, 2) = 'p:'
          AND substr(NEW.actor_id, 3) NOT GLOB '*[^0-9a-f]*'))
     AND (NEW.actor_name IS OLD.actor_name OR (
          COALESCE(NOT (length(OLD.actor_name) = 34 AND substr(OLD.actor_name, 1, 2) = 'p:'), 1)
          AND length(NEW.actor_name) = 34 AND substr(NEW.actor_name, 1, 2) = 'p:'
          AND substr(NEW.actor_name, 3) NOT GLOB '*[^0-9a-f]*'))
     AND (NEW.target_id IS OLD.target_id OR (OLD.target_id IS NOT NULL
          AND COALESCE(NOT (length(OLD.target_id) = 34 AND substr(OLD.target_id, 1, 2) = 'p:'), 1)
          AND length(NEW.target_id) = 34 AND substr(NEW.target_id, 1, 2) = 'p:'
          AND substr(NEW.target_id, 3) NOT GLOB '*[^0-9a-f]*'))
     AND (NEW.source_address IS OLD.source_address OR (OLD.source_address IS NOT NULL
          AND COALESCE(NOT (length(OLD.source_address) = 34
                            AND substr(OLD.source_address, 1, 2) = 'p:'), 1)
          AND length(NEW.source_address) = 34 AND substr(NEW.source_address, 1, 2) = 'p:'
          AND substr(NEW.source_address, 3) NOT GLOB '*[^0-9a-f]*'))
     AND (NEW.detail IS OLD.detail OR (OLD.detail IS NOT NULL
          AND COALESCE(NOT (length(OLD.detail) = 34 AND substr(OLD.detail, 1, 2) = 'p:'), 1)
          AND length(NEW.detail) = 34 AND substr(NEW.detail, 1, 2) = 'p:'
          AND substr(NEW.detail, 3) NOT GLOB '*[^0-9a-f]*'))
     AND (NEW.before_json IS OLD.before_json OR (OLD.before_json IS NOT NULL
          AND COALESCE(NOT (length(OLD.before_json) = 36
                            AND substr(OLD.before_json, 1, 3) = '"p:'), 1)
          AND length(NEW.before_json) = 36 AND substr(NEW.before_json, 1, 3) = '"p:'
          AND substr(NEW.before_json, 36, 1) = '"'
          AND substr(NEW.before_json, 4, 32) NOT GLOB '*[^0-9a-f]*'))
     AND (NEW.after_json IS OLD.after_json OR (OLD.after_json IS NOT NULL
          AND COALESCE(NOT (length(OLD.after_json) = 36
                            AND substr(OLD.after_json, 1, 3) = '"p:'), 1)
          AND length(NEW.after_json) = 36 AND substr(NEW.after_json, 1, 3) = '"p:'
          AND substr(NEW.after_json, 36, 1) = '"'
          AND substr(NEW.after_json, 4, 32) NOT GLOB '*[^0-9a-f]*')))
), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
