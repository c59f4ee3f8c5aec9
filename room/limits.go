package room

import (
	"time"
	"unicode/utf8"
)

// Limits protect the service from abusive or runaway clients. Zero values
// mean "no limit".
type Limits struct {
	// MessageRate and MessageBurst shape each user's messages (groupchat,
	// private, invitations) in a room: a token bucket refilled at
	// MessageRate per second holding at most MessageBurst.
	MessageRate  float64
	MessageBurst int
	// PresenceRate and PresenceBurst do the same for joins, presence
	// updates and nick changes (leaves are never held back). A presence
	// update over the rate is deferred, not refused (flood.go).
	PresenceRate  float64
	PresenceBurst int
	// MaxNick, MaxSubject and MaxBody bound lengths in characters.
	MaxNick, MaxSubject, MaxBody int
	// RoomsPerUser bounds the live rooms one user has created; service
	// admins are exempt.
	RoomsPerUser int
	// MaxOccupants is the default and the ceiling of muc#roomconfig_maxusers.
	MaxOccupants int
	// HistoryBytes bounds the history one room keeps in memory, in bytes
	// (estimated by stanza.Element.Size); HistoryBudget bounds the history
	// of all rooms together. Over either, the oldest messages leave memory;
	// the archive keeps them.
	HistoryBytes  int
	HistoryBudget int64
	// VoiceRequestInterval is the least time between two voice requests
	// of one user in one room (XEP-0045 §7.13).
	VoiceRequestInterval time.Duration
}

// errTooFast is the answer to a client over its rate (RFC 6120 §8.3.3.12).
var errTooFast = newError(errWait, "policy-violation")

// tooLong reports whether s has more than n characters (n > 0).
func tooLong(s string, n int) bool {
	return n > 0 && len(s) > n && utf8.RuneCountInString(s) > n
}

// checkLengths refuses a message whose body or subject is over the limit.
func (r *Room) checkLengths(body, subject string) *stanzaError {
	l := &r.svc.limits
	switch {
	case tooLong(body, l.MaxBody):
		return newError(errModify, "policy-violation").withText("The message is too long")
	case tooLong(subject, l.MaxSubject):
		return newError(errModify, "policy-violation").withText("The subject is too long")
	}
	return nil
}

// maxUsers is the effective occupant limit of the room.
func (r *Room) maxUsers() int {
	c := r.svc.limits.MaxOccupants
	switch {
	case r.cfg.MaxUsers == 0:
		return c
	case c == 0:
		return r.cfg.MaxUsers
	}
	return min(r.cfg.MaxUsers, c)
}

var nickLengthFeature = feature{name: "nick-length", preJoin: checkNickLength, preNickChange: checkNickLength}

func checkNickLength(r *Room, j *joinAttempt) *stanzaError {
	if tooLong(j.nick, r.svc.limits.MaxNick) {
		return newError(errModify, "policy-violation").withText("The nickname is too long")
	}
	return nil
}

// isAdmin reports whether bare is a service administrator.
func (s *service) isAdmin(bare string) bool {
	return s.admins[bare] && bare != ""
}
