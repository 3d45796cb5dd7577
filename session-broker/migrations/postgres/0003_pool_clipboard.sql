-- The clipboard policy of each pool: whether the gateway offers the RDP clipboard channel
-- (cliprdr) to the pool's hosts, and the largest text it passes either way (UTF-8 bytes).
ALTER TABLE host_pools ADD COLUMN clipboard_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE host_pools ADD COLUMN clipboard_max_bytes BIGINT NOT NULL DEFAULT 1048576
    CHECK (clipboard_max_bytes BETWEEN 0 AND 16777216);
