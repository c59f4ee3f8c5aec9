package room

import (
	"sync"
	"time"

	"mellium.im/xmpp/jid"

	"chorus/affiliations"
	"chorus/stanza"
)

// Room is one chat room. Every method that takes a stanza runs under mu and
// appends what it sends to out; nothing here touches the network.
//
// Two locks: mu guards the room's state and is never held across a store
// call; wmu orders the transactions that may change the room (all but
// readOnly ones) and its durable writes, and is held across them, so a
// slow store makes only the room's own changes wait (Room.run). wmu is
// always taken before mu.
type Room struct {
	mu  sync.Mutex
	wmu sync.Mutex
	jid string // bare room JID
	svc *service

	cfg     Config
	created bool // the first join has happened
	locked  bool // XEP-0045 §10.1.1: new rooms wait for their owner's configuration
	closed  bool // removed from the registry; callers must look the room up again
	// destroyed is set when an owner or admin destroyed the room; the
	// registry keeps it as a tombstone for persistent rooms.
	destroyed *tombstone

	subject subject
	affs    map[string]affRecord // by bare JID (or domain for host-wide entries)
	history history
	salt    []byte // keys occupant ids (XEP-0421)

	msgLimit, presLimit limiter              // rate limits by bare JID (flood.go)
	deferred            map[string]*request  // presence updates over the rate, by session
	voiceAsked          map[string]time.Time // last voice request by bare JID
	slow                slowMode             // last message by bare JID (slowmode.go)
	creator             string               // who created the room since start, for RoomsPerUser

	vcard      *stanza.Element // the room's vCard, set by an owner
	avatarHash string          // SHA-1 of the vCard photo, hex

	occupants []*Occupant          // in order of joining, for stable fan-out
	byNick    map[string]*Occupant // by nickKey of the nick
	byReal    map[string]*Occupant // full real JID of each session
	// everyone caches allSessions(nil), the recipients of every broadcast;
	// nil after any change to who is present (audienceChanged).
	everyone []string

	out []Out

	// Persistence (persist.go): whether the store holds this room, and what
	// changed since it was last written.
	stored    bool
	dirtyData bool
	dirtyAffs map[string]bool
	// writing is set while a durable write is in flight outside mu;
	// flushing while a background writer retries a failed one.
	writing, flushing bool
	// archive holds messages to archive, taken by the registry after
	// each stanza.
	archive []archiveOp
	// liveChanged says what the live state keeps of the room changed
	// since run last handed it to the write-behind (live.go).
	liveChanged bool
}

// affRecord is what a room keeps about an affiliated user.
type affRecord struct {
	aff    affiliations.Affiliation
	reason string
	nick   string // reserved nickname (jabber:iq:register)
}

func newRoom(svc *service, roomJID string) *Room {
	return &Room{
		jid:     roomJID,
		svc:     svc,
		cfg:     defaultConfig(),
		affs:    map[string]affRecord{},
		byNick:  map[string]*Occupant{},
		byReal:  map[string]*Occupant{},
		history: history{budget: &svc.historyBudget},
	}
}

// JID returns the room's bare JID.
func (r *Room) JID() string { return r.jid }

// request is one inbound stanza with its parsed addresses.
type request struct {
	st   *stanza.Element
	from string // sender's full JID, normalized
	bare string // sender's bare JID
	to   string // room or occupant JID, normalized
	nick string // resourcepart of to; empty when the room itself is addressed
	typ  string
	// archived is the message a moderation or retraction names, read
	// from the archive outside the room lock (Registry.prefetch).
	archived *prefetched
}

// handle runs one stanza through the room. ok is false when the room was
// closed before the stanza got the lock; the caller looks it up again.
func (r *Room) handle(req *request) (outs []Out, ok bool) {
	outs, _, ok = r.handleArchiving(req)
	return outs, ok
}

// send queues st for one recipient.
func (r *Room) send(to string, st *stanza.Element) {
	r.out = append(r.out, To1(to, st))
}

// sendTo queues st for several recipients.
func (r *Room) sendTo(to []string, st *stanza.Element) {
	if len(to) > 0 {
		r.out = append(r.out, Out{To: to, Stanza: st})
	}
}

// reply queues an error response to the request, unless the request was
// itself an error (RFC 6120 §8.3.1: never answer an error with an error).
func (r *Room) replyError(req *request, e *stanzaError) {
	if req.typ == "error" || (req.st.Local == "iq" && req.typ == "result") {
		return
	}
	r.send(req.from, errorReply(req.st, e, r.jid))
}

// occupantJID returns room@service/nick.
func (r *Room) occupantJID(nick string) string {
	return r.jid + "/" + nick
}

// affiliation returns the effective affiliation of a bare or full JID:
// service admins own every room; a ban of a whole domain covers its users.
func (r *Room) affiliation(someJID string) affiliations.Affiliation {
	bare := bareOf(someJID)
	if r.svc.admins[bare] {
		return affiliations.Owner
	}
	if rec, ok := r.affs[bare]; ok {
		return rec.aff
	}
	if rec, ok := r.affs[domainOf(bare)]; ok && rec.aff == affiliations.Outcast {
		return affiliations.Outcast
	}
	return affiliations.None
}

func (r *Room) roomKind() affiliations.RoomKind {
	return affiliations.RoomKind{MembersOnly: r.cfg.MembersOnly, Moderated: r.cfg.Moderated}
}

func (r *Room) defaultRole(a affiliations.Affiliation) affiliations.Role {
	return affiliations.DefaultRole(a, r.roomKind())
}

func (r *Room) occupantBySession(full string) *Occupant {
	return r.byReal[full]
}

// addOccupant stores a new occupant.
func (r *Room) addOccupant(o *Occupant) {
	r.audienceChanged()
	r.occupants = append(r.occupants, o)
	r.byNick[nickKey(o.Nick)] = o
	for _, s := range o.sessions {
		r.byReal[s.jid] = o
	}
}

// removeOccupant forgets an occupant and all its sessions.
func (r *Room) removeOccupant(o *Occupant) {
	r.audienceChanged()
	for i, x := range r.occupants {
		if x == o {
			r.occupants = append(r.occupants[:i:i], r.occupants[i+1:]...)
			break
		}
	}
	if k := nickKey(o.Nick); r.byNick[k] == o {
		delete(r.byNick, k)
	}
	for _, s := range o.sessions {
		if r.byReal[s.jid] == o {
			delete(r.byReal, s.jid)
		}
		delete(r.deferred, s.jid)
	}
}

// audienceChanged forgets the cached recipients of broadcasts; called on
// every change to the occupants or their sessions. The slices handed out
// before stay as they were: queued stanzas still hold them.
func (r *Room) audienceChanged() {
	r.everyone = nil
	r.liveStateChanged()
}

// isEmpty reports whether nobody is in the room.
func (r *Room) isEmpty() bool { return len(r.occupants) == 0 }

// allSessions lists the sessions of every occupant, optionally filtered.
func (r *Room) allSessions(keep func(*Occupant) bool) []string {
	if keep == nil && r.everyone != nil {
		return r.everyone
	}
	var to []string
	for _, o := range r.occupants {
		if keep == nil || keep(o) {
			for _, s := range o.sessions {
				to = append(to, s.jid)
			}
		}
	}
	if keep == nil {
		// Capacity cut to length: a caller that appends gets a copy.
		to = to[:len(to):len(to)]
		r.everyone = to
	}
	return to
}

// bareOf and domainOf split an address that is already normalized.
func bareOf(s string) string { return splitAddress(s).Bare() }

func domainOf(bare string) string { return splitAddress(bare).Domain() }

// parseJID normalizes an address, reporting whether it is valid. It is
// for addresses in payloads whose parts the caller takes from mellium's
// jid.JID; addresses on stanzas go through ParseAddress.
func parseJID(s string) (jid.JID, bool) {
	if s == "" {
		return jid.JID{}, false
	}
	j, err := jid.Parse(s)
	return j, err == nil
}

// handleArchiving is handle that also takes the archive writes the stanza
// caused, for the registry to queue outside the room lock.
func (r *Room) handleArchiving(req *request) (outs []Out, ops []archiveOp, ok bool) {
	return r.transact(req, func() { r.dispatch(req) })
}

// transact runs fn under the room lock, persists what it changed and
// returns what it sends and archives. req is the stanza being handled, nil
// for work of the room's own (timers). ok is false when the room was
// closed before fn got the lock.
func (r *Room) transact(req *request, fn func()) (outs []Out, ops []archiveOp, ok bool) {
	outs, ops, ok, _ = r.txn(req, false, fn)
	return outs, ops, ok
}

// txn is transact that also saves the room first when always is set (work
// that changes stored state without a stanza: an administrator's destroy)
// and returns the store's error when the change was undone (txn.go).
func (r *Room) txn(req *request, always bool, fn func()) (outs []Out, ops []archiveOp, ok bool, err error) {
	res := r.run(req, always, false, fn)
	return res.outs, res.ops, res.ok, res.err
}
