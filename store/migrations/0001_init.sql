-- The initial schema. {{autoid}} and {{blob}} are the only words that differ
-- between SQLite and PostgreSQL; the migration runner fills them in.

-- One row per persistent room. A destroyed room that left a tombstone keeps
-- its row with data NULL and tombstone_until set (unix ms); a live room has
-- tombstone_until NULL.
CREATE TABLE rooms (
	jid              TEXT PRIMARY KEY,
	data             TEXT,
	tombstone_alt    TEXT,
	tombstone_reason TEXT,
	tombstone_until  BIGINT,
	updated          BIGINT NOT NULL
);

CREATE INDEX rooms_tombstone_until ON rooms (tombstone_until)
	WHERE tombstone_until IS NOT NULL;

CREATE TABLE affiliations (
	room        TEXT NOT NULL REFERENCES rooms (jid) ON DELETE CASCADE,
	jid         TEXT NOT NULL,
	affiliation TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	nick        TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (room, jid)
);

-- The message archive. seq is the archive order (insertion order), which
-- paging follows; at (unix ms) only filters.
CREATE TABLE archive (
	seq      {{autoid}},
	room     TEXT NOT NULL,
	id       TEXT NOT NULL UNIQUE,
	at       BIGINT NOT NULL,
	from_jid TEXT NOT NULL,
	stanza   {{blob}} NOT NULL
);

CREATE INDEX archive_room_seq ON archive (room, seq);
CREATE INDEX archive_room_at ON archive (room, at, seq);
CREATE INDEX archive_room_from ON archive (room, from_jid, seq);
-- Expire deletes by age across all rooms.
CREATE INDEX archive_at ON archive (at);

-- One row per room that has archived messages: the newest at stored so far,
-- and whether a message ever came with an older at than one stored before
-- it. While disorder is 0, at never decreases along seq within the room, so
-- a Start/End window is a seq range found with two index seeks.
CREATE TABLE archive_rooms (
	room     TEXT PRIMARY KEY,
	max_at   BIGINT NOT NULL,
	disorder INTEGER NOT NULL DEFAULT 0
);
