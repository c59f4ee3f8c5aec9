-- Live state: who is in which room right now, so that a restart, or a
-- standby taking over, brings every occupant back without a word to them.
-- Written behind the rooms' changes (SaveLive), read at start (LoadLive).

-- One row per room with occupants. data is the record of a temporary room
-- (opaque, as rooms.data); NULL for a persistent room, whose record is in
-- rooms.
CREATE TABLE live_rooms (
	jid       TEXT PRIMARY KEY,
	temporary INTEGER NOT NULL DEFAULT 0,
	data      TEXT,
	updated   BIGINT NOT NULL
);

-- The affiliations of temporary rooms (a persistent room's are in
-- affiliations).
CREATE TABLE live_affiliations (
	room        TEXT NOT NULL REFERENCES live_rooms (jid) ON DELETE CASCADE,
	jid         TEXT NOT NULL,
	affiliation TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	nick        TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (room, jid)
);

-- One row per occupant session: a full JID in a room under a nick. presence
-- is the last presence it sent as the room broadcasts it (XML); pos keeps
-- the order SaveLive was given; joined is unix ms.
CREATE TABLE live_sessions (
	room     TEXT NOT NULL REFERENCES live_rooms (jid) ON DELETE CASCADE,
	full_jid TEXT NOT NULL,
	pos      INTEGER NOT NULL,
	nick     TEXT NOT NULL,
	role     TEXT NOT NULL,
	presence {{blob}},
	joined   BIGINT NOT NULL,
	PRIMARY KEY (room, full_jid)
);

-- The generation of each domain's active instance when several share one
-- PostgreSQL (hot standby): each instance that takes over bumps it, and the
-- writes of an instance holding an older one are refused. Unused on SQLite,
-- which serves one instance only.
CREATE TABLE leader (
	domain     TEXT PRIMARY KEY,
	generation BIGINT NOT NULL
);
