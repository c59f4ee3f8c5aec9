package room

import (
	"chorus/forms"
	"chorus/internal/xmlel"
)

// feature is one room feature's part in the shared events. Each is defined
// in its own file; the list below fixes the order in which they act.
type feature struct {
	name string
	// preJoin may refuse an occupant's entry (XEP-0045 §7.2).
	preJoin func(r *Room, j *joinAttempt) *stanzaError
	// config lists the feature's muc#roomconfig fields.
	config []configField
	// disco adds disco#info features of the room.
	disco func(r *Room) []string
	// roomInfo adds muc#roominfo fields to the room's disco#info form.
	roomInfo func(r *Room) []forms.Field
	// decoratePresence adds payloads to every occupant presence.
	decoratePresence func(r *Room, o *Occupant, p *xmlel.Element)
	// decorateMessage adds payloads to every groupchat message from an
	// occupant (o), before it is broadcast and kept.
	decorateMessage func(r *Room, o *Occupant, msg *xmlel.Element)
	// decoratePrivate adds payloads to every private message from an
	// occupant (o) before it is relayed.
	decoratePrivate func(r *Room, o *Occupant, msg *xmlel.Element)
}

// features is the one ordered table of room features. Entry checks run in
// this order, so the first refusal a client gets is the most fundamental:
// a bad nick before a locked room, a ban before a password prompt.
var features = []feature{
	nicknameFeature,
	nickLengthFeature,
	lockFeature,
	banFeature,
	membersOnlyFeature,
	passwordFeature,
	maxUsersFeature,
	nickConflictFeature,
	registerFeature,
	nameFeature,
	descriptionFeature,
	persistentFeature,
	publicFeature,
	moderatedFeature,
	whoisFeature,
	subjectFeature,
	historyFeature,
	presenceBroadcastFeature,
	inviteFeature,
	stanzaIDFeature,
	occupantIDFeature,
	privateMessagesFeature,
	memberListFeature,
	loggingFeature,
	langFeature,
	voiceRequestFeature,
	moderationFeature,
	vcardFeature,
	mamFeature,
}
