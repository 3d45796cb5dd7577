-- Native clients (RD Gateway): a launch for the native path also gets a short random
-- reference, the PAA cookie an .rdp file or `xfreerdp /gat:` carries. Only its SHA-256
-- (hex) is stored; spending it is the same single conditional UPDATE as for a ticket.
ALTER TABLE launch_tickets ADD COLUMN reference_hash TEXT;
CREATE UNIQUE INDEX launch_tickets_reference ON launch_tickets (reference_hash)
    WHERE reference_hash IS NOT NULL;
