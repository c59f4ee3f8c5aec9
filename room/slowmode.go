package room

import (
	"strconv"
	"sync/atomic"
	"time"

	"chorus/affiliations"
	"chorus/forms"
)

// Slow mode (XEP-0500): the owner sets how many seconds each occupant
// must wait between two groupchat messages, so a busy room stays
// readable. Only messages with a body count (chat states and markers
// pass); moderators are not limited. The room remembers, by bare JID, when
// each user last spoke, so leaving and rejoining or changing nick does not
// reset the wait.

// Fields of XEP-0500 §4.
const (
	configSlowMode   = "muc#roomconfig_slow_mode_duration"
	roomInfoSlowMode = "muc#roominfo_slow_mode_duration"
)

// maxSlowMode bounds the duration an owner may set: one day.
const maxSlowMode = 24 * 60 * 60

var slowModeFeature = feature{
	name: "slow-mode",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: configSlowMode, Type: forms.TextSingle,
				Label:  "Slow mode: seconds each participant waits between messages (0 = off)",
				Values: []string{strconv.Itoa(c.SlowMode)}}
		},
		parse: func(c *Config, f *forms.Field) error {
			v := f.Value()
			if v == "" {
				c.SlowMode = 0
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxSlowMode {
				return errBadValue.withText(f.Var + " must be a number of seconds from 0 to " + strconv.Itoa(maxSlowMode))
			}
			c.SlowMode = n
			return nil
		},
	}},
	// XEP-0500 §4.2: the room tells clients the duration, 0 when off, so
	// they can hold the next message back themselves.
	roomInfo: func(r *Room) []forms.Field {
		return []forms.Field{{Var: roomInfoSlowMode, Type: forms.TextSingle, Values: []string{strconv.Itoa(r.cfg.SlowMode)}}}
	},
}

// slowMode is a room's record of when each user last spoke, by bare JID.
type slowMode struct {
	last    map[string]time.Time
	sweepAt int // size at which entries past the wait are next swept out
}

// slowModeRefusal checks an occupant's groupchat message against the
// room's slow mode, and records it when it passes. It returns the error to
// answer with, which says how long to wait.
func (r *Room) slowModeRefusal(o *Occupant, hasBody bool) *stanzaError {
	wait := time.Duration(r.cfg.SlowMode) * time.Second
	if wait <= 0 || !hasBody || o.Role >= affiliations.Moderator {
		return nil
	}
	now := r.svc.now()
	s := &r.slow
	if t, ok := s.last[o.Bare]; ok && now.Sub(t) < wait {
		left := int((wait - now.Sub(t) + time.Second - 1) / time.Second)
		r.svc.refusals.slowMode.Add(1)
		return errTooFast.withText("This room is in slow mode: one message every " + strconv.Itoa(r.cfg.SlowMode) +
			" seconds. Wait " + strconv.Itoa(left) + " more seconds.")
	}
	if s.last == nil {
		s.last = map[string]time.Time{}
	}
	if len(s.last) >= max(s.sweepAt, minSweep) {
		for k, t := range s.last {
			if now.Sub(t) >= wait {
				delete(s.last, k)
			}
		}
		s.sweepAt = 2 * len(s.last)
	}
	s.last[o.Bare] = now
	return nil
}

// refusals count what the service refused for operators' metrics.
type refusals struct {
	slowMode, blocklist atomic.Uint64
	// serviceBan counts joins refused and occupants removed by a
	// service-wide ban (serviceban.go).
	serviceBan atomic.Uint64
}

// Refusals are the counts of refusals since start (Registry.Refusals).
type Refusals struct {
	// SlowMode counts messages refused by a room's slow mode.
	SlowMode uint64
	// Blocklist counts joins refused because the user is on a block list.
	Blocklist uint64
	// ServiceBan counts joins refused, and occupants removed, because of
	// a service-wide ban.
	ServiceBan uint64
}

// Refusals returns the counts of refusals since the registry started.
func (g *Registry) Refusals() Refusals {
	return Refusals{SlowMode: g.svc.refusals.slowMode.Load(), Blocklist: g.svc.refusals.blocklist.Load(),
		ServiceBan: g.svc.refusals.serviceBan.Load()}
}
