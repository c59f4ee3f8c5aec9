package room

import (
	"crypto/rand"
	"encoding/base64"
	"sort"
	"sync"
	"time"

	"chorus/affiliations"
	"chorus/internal/xmlel"
)

// Options configure a Registry.
type Options struct {
	// Domain is the MUC service's domain, e.g. conference.example.com.
	Domain string
	// Admins are bare JIDs of service administrators: owners of every room.
	Admins []string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewID makes stanza ids; random when nil.
	NewID func() string
	// Creation says who may create rooms: CreateAnyone (the default),
	// CreateLocal (users of LocalDomain) or CreateAdmins.
	Creation string
	// LocalDomain is the host's domain, for CreateLocal.
	LocalDomain string
	// TombstoneTTL is how long a destroyed persistent room answers
	// "gone"; 31 days when zero.
	TombstoneTTL time.Duration
}

// Room creation policies.
const (
	CreateAnyone = "anyone"
	CreateLocal  = "local"
	CreateAdmins = "admins"
)

// service is what every room shares.
type service struct {
	domain      string
	admins      map[string]bool
	now         func() time.Time
	newID       func() string
	creation    string
	localDomain string
	tombTTL     time.Duration
}

// tombstone is what remains of a destroyed persistent room: joins get
// "gone" with the new address for a while, so clients update bookmarks
// instead of recreating the room by accident (XEP-0045 §10.9).
type tombstone struct {
	alt, reason string
	until       time.Time
}

// Registry holds the rooms of one MUC service, by bare JID.
type Registry struct {
	svc   *service
	mu    sync.Mutex
	rooms map[string]*Room
	tombs map[string]*tombstone
}

// NewRegistry returns an empty registry.
func NewRegistry(o Options) *Registry {
	svc := &service{domain: o.Domain, admins: map[string]bool{}, now: o.Now, newID: o.NewID,
		creation: o.Creation, localDomain: o.LocalDomain, tombTTL: o.TombstoneTTL}
	if svc.creation == "" {
		svc.creation = CreateAnyone
	}
	if svc.tombTTL == 0 {
		svc.tombTTL = 31 * 24 * time.Hour
	}
	for _, a := range o.Admins {
		if j, ok := parseJID(a); ok {
			svc.admins[j.Bare().String()] = true
		}
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	if svc.newID == nil {
		svc.newID = randomID
	}
	return &Registry{svc: svc, rooms: map[string]*Room{}, tombs: map[string]*tombstone{}}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// IsAdmin reports whether bare is a service administrator.
func (g *Registry) IsAdmin(bare string) bool { return g.svc.admins[bare] }

// Handle processes one stanza addressed to a room or an occupant of this
// service and returns what to send. Stanzas with unusable addresses are
// answered with an error where an answer can be addressed, else dropped.
func (g *Registry) Handle(st *xmlel.Element) []Out {
	from, ok := parseJID(st.Attr("from"))
	if !ok {
		return nil // nobody to answer
	}
	req := &request{st: st, from: from.String(), bare: from.Bare().String(), typ: st.Attr("type")}
	to, ok := parseJID(st.Attr("to"))
	if !ok || to.Localpart() == "" || to.Domainpart() != g.svc.domain {
		if req.typ == "error" || req.typ == "result" {
			return nil
		}
		// Answer from the service itself: an unusable address cannot be
		// the sender, and the host would refuse a foreign one.
		e := errorReply(st, errJIDMalformed, "")
		e.SetAttr("from", g.svc.domain)
		return []Out{To1(req.from, e)}
	}
	req.to, req.nick = to.String(), to.Resourcepart()
	st.SetAttr("to", req.to) // replies are sent from the canonical address
	roomJID := to.Bare().String()
	for {
		r, err := g.lookup(roomJID, req)
		if err != nil {
			if req.typ == "error" || (st.Local == "iq" && req.typ == "result") {
				return nil
			}
			return []Out{To1(req.from, errorReply(st, err, roomJID))}
		}
		outs, ok := r.handle(req)
		if !ok {
			continue // the room closed while we waited; look again
		}
		g.collect(r)
		return outs
	}
}

// lookup returns the room, creating it when the stanza is a join by someone
// allowed to create rooms (XEP-0045 §10.1.1), or the error to answer.
func (g *Registry) lookup(roomJID string, req *request) (*Room, *stanzaError) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[roomJID]; r != nil {
		return r, nil
	}
	st := req.st
	isJoin := st.Local == "presence" && req.typ == "" && st.Child(NSMUC, "x") != nil
	if t := g.tombs[roomJID]; t != nil {
		switch {
		case g.svc.now().After(t.until):
			delete(g.tombs, roomJID)
		case isJoin && g.svc.admins[req.bare]:
			delete(g.tombs, roomJID) // an admin may bring it back
		default:
			e := newError(errCancel, "gone").withText("This room has been destroyed")
			if t.reason != "" {
				e = e.withText(t.reason)
			}
			if t.alt != "" {
				e.detail = "xmpp:" + t.alt + "?join"
			}
			return nil, e
		}
	}
	if !isJoin {
		return nil, errItemNotFound.withText("No such room")
	}
	if !g.mayCreate(req.bare) {
		return nil, errNotAllowed.withText("Room creation is restricted")
	}
	r := newRoom(g.svc, roomJID)
	g.rooms[roomJID] = r
	return r, nil
}

// mayCreate applies the room creation policy.
func (g *Registry) mayCreate(bare string) bool {
	switch g.svc.creation {
	case CreateAdmins:
		return g.svc.admins[bare]
	case CreateLocal:
		return g.svc.admins[bare] || domainOf(bare) == g.svc.localDomain
	}
	return true
}

// collect forgets r if it was destroyed, or is temporary and empty.
func (g *Registry) collect(r *Room) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || (r.isEmpty() && !r.cfg.Persistent) || !r.created {
		r.closed = true
		if g.rooms[r.jid] == r {
			delete(g.rooms, r.jid)
		}
		if t := r.destroyed; t != nil && r.cfg.Persistent {
			t.until = g.svc.now().Add(g.svc.tombTTL)
			g.tombs[r.jid] = t
		}
	}
}

// Shutdown empties every room, telling each occupant that the service is
// going away (status 332), and returns those stanzas.
func (g *Registry) Shutdown() []Out {
	var outs []Out
	for _, r := range g.snapshot() {
		r.mu.Lock()
		for _, o := range r.occupants {
			o.Role = affiliations.RoleNone
			p := r.presenceOf(o, viewSelf, &statusChange{codes: []string{statusShutdown}}, true)
			outs = append(outs, Out{To: o.Sessions(), Stanza: p})
		}
		r.mu.Unlock()
	}
	return outs
}

// Destroy destroys a room as a service administrator does, returning the
// stanzas to send and whether the room existed.
func (g *Registry) Destroy(roomJID, alt, reason string) ([]Out, bool) {
	g.mu.Lock()
	r := g.rooms[roomJID]
	g.mu.Unlock()
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, false
	}
	r.out = nil
	r.destroy(alt, reason, "")
	outs := r.out
	r.out = nil
	r.mu.Unlock()
	g.collect(r)
	return outs, true
}

// RoomItem describes a room for service discovery.
type RoomItem struct {
	JID, Name string
}

// PublicRooms lists the rooms that are public and unlocked, by JID
// (XEP-0045 §6.3).
func (g *Registry) PublicRooms() []RoomItem {
	var items []RoomItem
	for _, r := range g.snapshot() {
		r.mu.Lock()
		if r.cfg.Public && !r.locked && !r.closed {
			name := r.cfg.Name
			if name == "" {
				name = localOf(r.jid)
			}
			items = append(items, RoomItem{JID: r.jid, Name: name})
		}
		r.mu.Unlock()
	}
	return items
}

// RoomJIDs lists every live room.
func (g *Registry) RoomJIDs() []string {
	rooms := g.snapshot()
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = r.jid
	}
	return out
}

// snapshot returns the live rooms in JID order, so callers can visit them
// without holding the registry lock.
func (g *Registry) snapshot() []*Room {
	g.mu.Lock()
	rooms := make([]*Room, 0, len(g.rooms))
	for _, r := range g.rooms {
		rooms = append(rooms, r)
	}
	g.mu.Unlock()
	sort.Slice(rooms, func(i, j int) bool { return rooms[i].jid < rooms[j].jid })
	return rooms
}
