package room

import (
	"chorus/forms"
	"chorus/stanza"
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
	decoratePresence func(r *Room, o *Occupant, p *stanza.Element)
	// decorateMessage adds payloads to every groupchat message from an
	// occupant (o), before it is broadcast and kept.
	decorateMessage func(r *Room, o *Occupant, msg *stanza.Element)
	// decoratePrivate adds payloads to every private message from an
	// occupant (o) before it is relayed.
	decoratePrivate func(r *Room, o *Occupant, msg *stanza.Element)
}

// features is the one ordered table of room features. Entry checks run in
// this order, which is Prosody's (its muc-occupant-pre-join hooks run from
// the highest priority down, then handle_normal_presence checks the nick
// conflict), so a join that is wrong in several ways is refused as Prosody
// would refuse it. The comment gives each check's Prosody priority and file.
// XEP-0045 asks both that a banned user be told it is banned (§7.2.8) and
// that a non-member be refused a members-only room (§7.2.7) without
// ordering them; Prosody's members-only check (-5) runs first, so an outcast
// of a members-only room hears registration-required, and so it does here.
var features = []feature{
	nicknameFeature,     //   2, 1  muc.lib.lua: strict resourceprep, then a visible character
	nickLengthFeature,   //   (1)   Chorus's own limit, checked with the nick
	registerFeature,     //   0     register.lib.lua: nick reserved by someone else
	membersOnlyFeature,  //  -5     members_only.lib.lua
	banFeature,          // -10     muc.lib.lua
	passwordFeature,     // -20     password.lib.lua
	lockFeature,         // -30     lock.lib.lua
	maxUsersFeature,     //   -     not in Prosody 0.12's MUC; XEP-0045 §7.2.10, after its hooks
	nickConflictFeature, //   -     muc.lib.lua handle_normal_presence, after every hook
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
