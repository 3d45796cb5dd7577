-- The level of assurance a login established (the Swedish tillitsnivå 1 to 4, as in
-- http://id.elegnamnden.se/loa/1.0/loa3): a SITHS card's comes from its issuing CA
-- (gateway.siths_loa). NULL: none established (demo login). Launch can require a
-- minimum (gateway.launch_min_loa), so it is read with the session.
ALTER TABLE web_sessions ADD COLUMN loa BIGINT CHECK (loa BETWEEN 1 AND 4);
