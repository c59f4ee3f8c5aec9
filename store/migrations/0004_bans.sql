-- Service-wide bans: a bare JID or a whole domain that may enter no room
-- of the service (an operator's ban, beside each room's outcasts). at is
-- unix ms.
CREATE TABLE service_bans (
	jid    TEXT PRIMARY KEY,
	reason TEXT NOT NULL DEFAULT '',
	at     BIGINT NOT NULL
);
