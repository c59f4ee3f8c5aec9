-- Room lists (the service's disco#items, the administrators' look-ups) are
-- read from the store, so that rooms not in memory are listed too. public
-- and name are copies of the room record's configuration, written with it;
-- the rows already there take them from their record once, here.
ALTER TABLE rooms ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN name TEXT NOT NULL DEFAULT '';

UPDATE rooms SET public = {{record_public}}, name = {{record_name}}
	WHERE data IS NOT NULL;

-- Lists page in JID order, compared bytewise on both backends.
CREATE INDEX rooms_list ON rooms (public, jid {{bytewise}})
	WHERE tombstone_until IS NULL;
