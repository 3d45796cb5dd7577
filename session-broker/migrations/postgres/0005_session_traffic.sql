-- What a session carried, as the gateway reports it at every state change and every
-- minute while a browser is attached: payload bytes to the browser, RDP bytes from the
-- host and display frames sent. Capacity planning and the audit detail use them.
ALTER TABLE sessions ADD COLUMN bytes_to_client BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN bytes_from_host BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN frames_sent BIGINT NOT NULL DEFAULT 0;
