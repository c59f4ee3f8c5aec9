package room

import (
	"chorus/forms"
	"chorus/stanza"
)

// feature is one room feature's part in the shared events. Each is defined
// in its own file; the list below fixes the order in which they act. Every
// hook is optional. They follow Prosody's MUC events (plugins/muc/*.lib.lua)
// where it has one: the name of its event is given with each.
type feature struct {
	name string

	// preCreate may refuse the join that would create the room, before
	// any entry check (muc-room-pre-create).
	preCreate joinCheck
	// created sets the feature's part of a room its first join has just
	// made (muc-room-pre-create, muc-room-created); the creator is
	// already its owner.
	created func(r *Room, j *joinAttempt)
	// preJoin may refuse an occupant's entry (XEP-0045 §7.2;
	// muc-occupant-pre-join).
	preJoin joinCheck
	// joinCodes adds status codes to the self-presence of a session that
	// has entered (XEP-0045 §7.2).
	joinCodes func(r *Room, j *joinAttempt) []string
	// preNickChange may refuse an occupant's change of nick (XEP-0045
	// §7.6; muc-occupant-pre-change); j.o is the occupant.
	preNickChange joinCheck

	// config lists the feature's muc#roomconfig fields (muc-config-form).
	config []configField
	// configSubmitted adjusts a submitted configuration, read from the
	// form and about to be applied (muc-config-submitted).
	configSubmitted func(r *Room, next *Config)
	// configChanged acts on an applied configuration change and adds
	// the status codes it is announced with (XEP-0045 §10.2.1).
	configChanged func(r *Room, c *configChange)

	// preInvite may refuse a mediated invitation because of who sends
	// it (XEP-0045 §7.8.2; muc-pre-invite).
	preInvite func(r *Room, inv *invitation) *stanzaError
	// invite acts on an invitation about to be sent and adds to it
	// (muc-invite).
	invite func(r *Room, inv *invitation)

	// disco adds disco#info features of the room (muc-disco#info).
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

// joinCheck may refuse a join, or a nick change, with the error to answer.
type joinCheck func(r *Room, j *joinAttempt) *stanzaError

// inOrder is one check made of several, run in order until one refuses.
func inOrder(checks ...joinCheck) joinCheck {
	return func(r *Room, j *joinAttempt) *stanzaError {
		for _, check := range checks {
			if e := check(r, j); e != nil {
				return e
			}
		}
		return nil
	}
}

// refusal runs one kind of join check of every feature that has one
// (hook picks it: preCreate, preJoin or preNickChange), in table order,
// and returns the first refusal.
func (r *Room) refusal(j *joinAttempt, hook func(f *feature) joinCheck) *stanzaError {
	for i := range features {
		if check := hook(&features[i]); check != nil {
			if e := check(r, j); e != nil {
				return e
			}
		}
	}
	return nil
}

// features is the one ordered table of room features, and every hook of
// feature above is called through it, in this order: room creation, entry
// and its self-presence codes, nick changes, the configuration form,
// submitted and applied configurations, invitations, disco#info and the
// payloads of presences and messages. join.go, config.go and invite.go
// keep only the generic flow around these events.
//
// Refusals follow Prosody's order (its hooks run from the highest priority
// down), so a join or a nick change wrong in several ways is refused as
// Prosody would refuse it; the comments give each entry check's Prosody
// priority and file. A nick change (muc-occupant-pre-change) meets the
// checks that apply to it in the same order: the nick, its length, a nick
// reserved by someone else then the enforced reserved nick, and last the
// conflict (handle_normal_presence).
// XEP-0045 asks both that a banned user be told it is banned (§7.2.8) and
// that a non-member be refused a members-only room (§7.2.7) without
// ordering them; Prosody's members-only check (-5) runs first, so an outcast
// of a members-only room hears registration-required, and so it does here.
//
// Two orders do not follow the table. The status codes of a configuration
// change go out in numeric order (104, 170/171, 172/173), although whois
// comes before logging here. An invitation first meets invite.go's own
// rules on who may invite (an occupant or affiliated user, with a voice,
// allowinvites), then the preInvite hooks, then the sender's message rate
// and the invitee's ban (in invite.go), and only then the invite hooks: so
// members-only never makes a banned user a member.
var features []feature

// The table is filled at init: hooks call room methods that go through it
// again (a members-only switch removes occupants, whose presences features
// decorate), which a package-level initializer may not.
func init() {
	features = []feature{
		nicknameFeature,     //   2, 1  muc.lib.lua: strict resourceprep, then a visible character
		nickLengthFeature,   //   (1)   Chorus's own limit, checked with the nick
		registerFeature,     //   0     register.lib.lua: nick reserved by someone else
		membersOnlyFeature,  //  -5     members_only.lib.lua
		banFeature,          // -10     muc.lib.lua
		serviceBanFeature,   //   -     Chorus's service-wide ban, refused as a room's ban is
		blocklistFeature,    //   -     Chorus's block lists, with the ban
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
		slowModeFeature,
		moderationFeature,
		vcardFeature,
		mamFeature,
	}
}
