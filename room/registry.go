package room

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"encoding/json"
	"errors"
	"fmt"

	"chorus/affiliations"
	"chorus/stanza"
	"chorus/store"
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
	// Store keeps persistent rooms and the archive; nil keeps everything
	// in memory only.
	Store store.Store
	// ArchiveExpiry is how long archived messages are kept; 365 days when
	// zero.
	ArchiveExpiry time.Duration
	// OnStoreError hears of store failures that no client is told about.
	OnStoreError func(error)
	// Limits protect the service from abusive clients.
	Limits Limits
	// EnforceRegisteredNick makes users who reserved a nick in a room
	// enter it under that nick, whatever they ask for (Prosody's
	// enforce_registered_nickname).
	EnforceRegisteredNick bool
	// Live keeps who is in which room (live.go), so that a restart or a
	// standby taking over keeps everyone in their rooms (Restore); nil
	// keeps none, and Shutdown sends everyone away (status 332). It goes
	// with Store (both backends are both).
	Live store.LiveStore
	// LiveInterval is the period of the live state's write-behind;
	// 250 ms when zero.
	LiveInterval time.Duration
	// OnStop says what Shutdown does with the occupants when Live is
	// set: OnStopKeep (the default when empty) or OnStopKick.
	OnStop string
	// Bans keeps the service-wide bans (Registry.Ban); nil keeps them in
	// memory only. Registry.LoadBans reads them at start.
	Bans store.BanStore
	// Purger deletes a room's archived messages (Registry.Purge); nil
	// refuses purges.
	Purger store.Purger
	// Blocklist names users kept out of every room unless a room has
	// them affiliated (rtbl.go); nil keeps nobody out.
	Blocklist Blocklist
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
	enforceNick bool // Options.EnforceRegisteredNick
	tombTTL     time.Duration

	store        store.Store
	onStoreError func(error)
	limits       Limits
	timers       timers
	// historyBudget bounds the history all rooms keep in memory.
	historyBudget historyBudget
	// archiver is the registry's archive queue, nil without a store.
	archiver *archiver
	// stop ends the rooms' background writers (Registry.Close).
	stop <-chan struct{}
	// leave lets a room that finished a background write leave memory
	// (Registry.collect).
	leave func(*Room)
	// live is the write-behind of live state (live.go), nil without
	// Options.Live.
	live *liveState
	// bans are the service-wide bans (serviceban.go); banStore keeps
	// them and purger deletes from the archive, both nil when the store
	// cannot (Options.Bans, Options.Purger).
	bans     serviceBans
	banStore store.BanStore
	purger   store.Purger
	// refusals counts refusals for the metrics (Registry.Refusals).
	refusals refusals
	// blocklist is Options.Blocklist.
	blocklist Blocklist
}

// tombstone is what remains of a destroyed persistent room: joins get
// "gone" with the new address for a while, so clients update bookmarks
// instead of recreating the room by accident (XEP-0045 §10.9).
type tombstone struct {
	alt, reason string
	until       time.Time
}

// Registry holds the rooms of one MUC service, by bare JID.
//
// Its lock, mu, guards the maps below and nothing else: it is never held
// across a store call, so no room waits on another room's I/O. A room is
// in exactly one of these states (Room.closed and Room.destroyed tell):
//
//   - loading: in loading, not yet in rooms. The first stanza for a room
//     that is not in memory reads it from the store without the lock;
//     stanzas for the same room meanwhile wait on that load's channel,
//     nothing else does.
//   - live: in rooms, not closed. Every change runs through transact.
//   - evicting: closed, not destroyed: collect chose to drop it from
//     memory (empty and all written, or temporary and empty); a stanza
//     that found it before looks again and loads it anew. A room with a
//     durable write in flight or pending is never chosen.
//   - destroyed: closed with a tombstone; joins get "gone" for a while.
type Registry struct {
	svc   *service
	mu    sync.Mutex
	rooms map[string]*Room
	tombs map[string]*tombstone
	// loading holds the loads in progress, by room JID.
	loading map[string]*roomLoad
	// absent remembers, until the time given, rooms the store does not
	// hold, so that look-ups of rooms that do not exist cost no store
	// call. Creation goes through lookup, which forgets the entry.
	absent map[string]time.Time

	created map[string]int // live rooms by creator, for Limits.RoomsPerUser

	archive *archiver     // nil without a store
	expiry  time.Duration // of archived messages
	stop    chan struct{} // ends the expiry loop
	stopped sync.WaitGroup
	closing sync.Once
}

// NewRegistry returns an empty registry.
func NewRegistry(o Options) *Registry {
	svc := &service{domain: o.Domain, admins: map[string]bool{}, now: o.Now, newID: o.NewID,
		creation: o.Creation, localDomain: o.LocalDomain, tombTTL: o.TombstoneTTL,
		enforceNick: o.EnforceRegisteredNick, blocklist: o.Blocklist,
		store: o.Store, onStoreError: o.OnStoreError, limits: o.Limits,
		banStore: o.Bans, purger: o.Purger}
	if svc.creation == "" {
		svc.creation = CreateAnyone
	}
	svc.historyBudget.limit = o.Limits.HistoryBudget
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
		svc.newID = messageID
	}
	g := &Registry{svc: svc, rooms: map[string]*Room{}, tombs: map[string]*tombstone{}, created: map[string]int{}, stop: make(chan struct{}),
		loading: map[string]*roomLoad{}, absent: map[string]time.Time{}}
	svc.stop = g.stop
	svc.leave = g.collect
	if o.Live != nil {
		svc.live = &liveState{st: o.Live, interval: o.LiveInterval, kick: o.OnStop == OnStopKick, dirty: map[string]*Room{}}
		if svc.live.interval <= 0 {
			svc.live.interval = defaultLiveInterval
		}
		g.stopped.Add(1)
		go g.liveLoop()
	}
	if o.Store != nil {
		g.archive = newArchiver(o.Store, o.OnStoreError)
		svc.archiver = g.archive
		g.expiry = o.ArchiveExpiry
		if g.expiry <= 0 {
			g.expiry = 365 * 24 * time.Hour
		}
		g.stopped.Add(1)
		go g.expireLoop()
	}
	return g
}

// expireInterval is how often old archive entries and tombstones go.
const expireInterval = time.Hour

// expireLoop deletes what has outlived the retention period, in the
// background so no stanza waits for it.
func (g *Registry) expireLoop() {
	defer g.stopped.Done()
	t := time.NewTicker(expireInterval)
	defer t.Stop()
	for {
		g.expireOnce()
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
	}
}

func (g *Registry) expireOnce() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := g.svc.store.Expire(ctx, g.svc.now().Add(-g.expiry)); err != nil && g.svc.onStoreError != nil {
		g.svc.onStoreError(fmt.Errorf("archive expiry: %w", err))
	}
}

// Close writes what the archive queue holds and stops background work.
// The store itself belongs to the caller.
func (g *Registry) Close() {
	g.closing.Do(func() { close(g.stop) }) // also ends the rooms' background writers
	g.stopped.Wait()
	if g.archive != nil {
		g.archive.close()
		g.archive = nil
	}
}

// randomID is a secret: 96 bits from the operating system's generator.
func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// messageID is a unique stanza id: 96 bits from the runtime's per-thread
// ChaCha8 generator, which needs no system call or lock per message.
// Guessing one gains nothing: a stanza id is only ever compared, and the
// rules for what it may be used on (retraction, moderation) check the
// sender's rights, not the id.
func messageID() string {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], mrand.Uint32())
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// IsAdmin reports whether bare is a service administrator.
func (g *Registry) IsAdmin(bare string) bool { return g.svc.admins[bare] }

// Handle is HandleAt for a stanza whose 'to' has not been parsed yet.
func (g *Registry) Handle(st *stanza.Element) []Out {
	to, _ := ParseAddress(st.Attr("to"))
	return g.HandleAt(to, st)
}

// HandleAt processes one stanza addressed to a room or an occupant of this
// service and returns what to send; to is its 'to' as ParseAddress found
// it, the zero Address when that is no JID. Stanzas with unusable
// addresses are answered with an error where an answer can be addressed,
// else dropped.
func (g *Registry) HandleAt(to Address, st *stanza.Element) []Out {
	from, ok := ParseAddress(st.Attr("from"))
	if !ok {
		return nil // nobody to answer
	}
	req := &request{st: st, from: from.String(), bare: from.Bare(), typ: st.Attr("type")}
	if !to.Valid() || to.Local() == "" || to.Domain() != g.svc.domain {
		if req.typ == "error" || req.typ == "result" {
			return nil
		}
		return []Out{To1(req.from, g.malformed(st))}
	}
	req.to, req.nick = to.String(), to.Resource()
	// Replies are sent from the canonical address, or from the room when
	// the resourcepart cannot be a nick (see replyAddress).
	st.SetAttr("to", replyAddress(to))
	outs, serr, _ := g.transact(to.Bare(), byStanza, req, func(r *Room) { r.dispatch(req) })
	if serr != nil {
		if req.typ == "error" || (st.Local == "iq" && req.typ == "result") {
			return nil
		}
		return []Out{To1(req.from, errorReply(st, serr, to.Bare()))}
	}
	return outs
}

// How transact finds its room.
type access int

const (
	byStanza access = iota // a stanza: a join may create the room
	orLoad                 // an administrator's action: loaded when stored
	liveOnly               // the service's own work: only rooms in memory
)

// transact is the one way into a room: it finds (or loads, or creates) the
// room, runs fn in one room transaction (Room.run: locked, persisted,
// undone when the store refuses a change), queues the archive writes and
// lets the room leave memory when it should. A stanza that may only read
// the room (readOnly) runs beside the room's durable writes. serr is what
// to answer when there is no room to run fn in; found is false when the
// room does not exist (liveOnly, orLoad); err is the store's refusal of
// the change.
func (g *Registry) transact(roomJID string, how access, req *request, fn func(*Room)) (outs []Out, serr *stanzaError, err error) {
	return g.transactAlways(roomJID, how, req, false, fn)
}

// transactAlways is transact that, with always, treats fn as a change of
// stored state whatever req is (an administrator's destroy has no stanza).
func (g *Registry) transactAlways(roomJID string, how access, req *request, always bool, fn func(*Room)) (outs []Out, serr *stanzaError, err error) {
	for {
		var r *Room
		switch how {
		case byStanza:
			r, serr = g.lookup(roomJID, req)
		case orLoad:
			r, serr = g.liveOrStored(roomJID)
		case liveOnly:
			g.mu.Lock()
			r = g.rooms[roomJID]
			g.mu.Unlock()
		}
		if serr != nil {
			return nil, serr, nil
		}
		if r == nil {
			return nil, errItemNotFound, nil
		}
		if req != nil && g.isMAMQuery(req) {
			return g.mam(r, req), nil, nil
		}
		if req != nil {
			g.prefetch(r, req)
		}
		res := r.run(req, always, req != nil && readOnly(req), func() { fn(r) })
		if !res.ok {
			continue // the room closed while we waited; look again
		}
		if len(res.ops) > 0 {
			g.archive.enqueue(res.ops)
		}
		if res.leave {
			g.collect(r)
		}
		return res.outs, nil, res.err
	}
}

// malformed answers a stanza whose 'to' is no address of a room or
// occupant here. The answer never comes from that address (RFC 6120
// §8.3.1 rule 2: addresses are swapped unless that puts a malformed JID in
// 'from'; and the host refuses a foreign one). It comes from the room when
// the part before the '/' is a room of this service, so only the nick was
// wrong, and says so; else from the service.
func (g *Registry) malformed(st *stanza.Element) *stanza.Element {
	raw := st.Attr("to")
	if i := strings.IndexByte(raw, '/'); i >= 0 {
		if room, ok := ParseAddress(raw[:i]); ok && room.Local() != "" && room.Domain() == g.svc.domain {
			text := textNickInvalid
			if raw[i+1:] == "" {
				text = textNickEmpty
			}
			e := errorReply(st, errJIDMalformed.withText(text), room.String())
			e.SetAttr("from", room.String())
			return e
		}
	}
	e := errorReply(st, errJIDMalformed, "")
	e.SetAttr("from", g.svc.domain)
	return e
}

// lookup returns the room, creating it when the stanza is a join by someone
// allowed to create rooms (XEP-0045 §10.1.1), or the error to answer.
func (g *Registry) lookup(roomJID string, req *request) (*Room, *stanzaError) {
	if r, err := g.liveOrStored(roomJID); r != nil || err != nil {
		return r, err
	}
	st := req.st
	isJoin := st.Local == "presence" && req.typ == "" && st.Child(NSMUC, "x") != nil
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[roomJID]; r != nil {
		return r, nil // loaded or created meanwhile
	}
	if g.loading[roomJID] != nil {
		// Being loaded, or its tombstone being dropped, for another
		// stanza: wait for that, as a load.
		g.mu.Unlock()
		r, err := g.liveOrStored(roomJID)
		g.mu.Lock()
		if r != nil || err != nil {
			return r, err
		}
	}
	if t := g.tombs[roomJID]; t != nil {
		switch {
		case g.svc.now().After(t.until), isJoin && g.svc.admins[req.bare]:
			// Expired, or an admin brings the room back.
			if err := g.forgetTombstone(roomJID); err != nil {
				return nil, newError(errWait, "internal-server-error").withText("The room could not be recreated")
			}
			if r := g.rooms[roomJID]; r != nil {
				return r, nil
			}
		default:
			e := newError(errCancel, "gone").withText("This room has been destroyed")
			if t.reason != "" {
				e = e.withText(t.reason)
			}
			if t.alt != "" {
				e.Detail = "xmpp:" + t.alt + "?join"
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
	if n := g.svc.limits.RoomsPerUser; n > 0 && g.created[req.bare] >= n && !g.svc.isAdmin(req.bare) {
		return nil, newError(errWait, "resource-constraint").withText("You have created too many rooms")
	}
	r := newRoom(g.svc, roomJID)
	r.creator = req.bare
	g.created[req.bare]++
	if m := g.svc.limits.MaxOccupants; m > 0 {
		r.cfg.MaxUsers = m
	}
	g.rooms[roomJID] = r
	delete(g.absent, roomJID) // the room exists now
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

// collect forgets r if it was destroyed, or is temporary and empty, or is
// persistent, empty and entirely stored. It runs when Room.run found that
// the room should leave, so the hot path takes the registry lock once.
func (g *Registry) collect(r *Room) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mayLeave() {
		r.closed = true
		if g.rooms[r.jid] == r {
			delete(g.rooms, r.jid)
		}
		if r.creator != "" {
			if g.created[r.creator]--; g.created[r.creator] <= 0 {
				delete(g.created, r.creator)
			}
			r.creator = ""
		}
		if t := r.destroyed; t != nil && r.cfg.Persistent {
			g.tombs[r.jid] = t
		}
		r.history.clear() // a room loaded again reads its history anew

	}
}

// Shutdown ends the service's part in the rooms and returns the stanzas to
// send. Queued archive writes are flushed first. With live state kept
// (Options.Live, OnStop "keep") it writes the live state of every room and
// sends nothing: the occupants stay in their rooms for the next start
// (Restore). Otherwise, or when that write fails, it empties every room,
// telling each occupant that the service is going away (status 332), and
// clears the live state.
func (g *Registry) Shutdown() []Out {
	if g.archive != nil {
		g.archive.sync()
	}
	l := g.svc.live
	if l != nil && !l.kick && g.flushLive(true) == nil {
		return nil
	}
	outs := g.kickAll()
	if l != nil {
		l.flushMu.Lock()
		defer l.flushMu.Unlock()
		l.mu.Lock()
		gone := make([]string, 0, len(l.dirty))
		for jid := range l.dirty {
			gone = append(gone, jid)
		}
		clear(l.dirty)
		l.mu.Unlock()
		for _, r := range g.snapshot() {
			gone = append(gone, r.jid)
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if err := l.st.SaveLive(ctx, nil, gone); err != nil && g.svc.onStoreError != nil {
			g.svc.onStoreError(fmt.Errorf("live state: %w", err))
		}
		cancel()
	}
	return outs
}

// kickAll tells every occupant that the service is going away (status
// 332) and returns those stanzas.
func (g *Registry) kickAll() []Out {
	var outs []Out
	for _, r := range g.snapshot() {
		o, _, _ := g.transact(r.jid, liveOnly, nil, func(r *Room) {
			for _, o := range r.occupants {
				o.Role = affiliations.RoleNone
				p := r.presenceOf(o, viewSelf, &statusChange{codes: []string{statusShutdown}}, true)
				r.sendTo(o.Sessions(), p)
			}
		})
		outs = append(outs, o...)
	}
	return outs
}

// roomLoad is one room being read from the store; done is closed when r
// and err are set. Stanzas for that room wait on done, and only they.
type roomLoad struct {
	done chan struct{}
	r    *Room
	err  *stanzaError
}

// Bounds of the negative cache (Registry.absent): a room created elsewhere
// than through this registry (there is no such way while it holds the
// domain) would stay hidden this long at most.
const (
	absentTTL = 5 * time.Second
	absentMax = 4096
)

// liveOrStored returns the room in memory, or loads it from the store;
// nil when there is neither. The store is read without the registry lock;
// concurrent requests for the same room wait for the one load.
func (g *Registry) liveOrStored(roomJID string) (*Room, *stanzaError) {
	g.mu.Lock()
	for {
		if r := g.rooms[roomJID]; r != nil {
			g.mu.Unlock()
			return r, nil
		}
		l := g.loading[roomJID]
		if l == nil {
			break
		}
		g.mu.Unlock()
		<-l.done
		if l.err != nil {
			return nil, l.err
		}
		g.mu.Lock() // look again: the room may have left meanwhile
	}
	if g.svc.store == nil || g.tombs[roomJID] != nil {
		g.mu.Unlock()
		return nil, nil
	}
	if until, ok := g.absent[roomJID]; ok {
		if g.svc.now().Before(until) {
			g.mu.Unlock()
			return nil, nil
		}
		delete(g.absent, roomJID)
	}
	l := &roomLoad{done: make(chan struct{})}
	g.loading[roomJID] = l
	g.mu.Unlock()

	r, tomb, err := g.load(roomJID)

	g.mu.Lock()
	delete(g.loading, roomJID)
	switch {
	case err != nil:
		if g.svc.onStoreError != nil {
			g.svc.onStoreError(err)
		}
		l.err = newError(errWait, "internal-server-error").withText("The room could not be loaded")
	case r != nil:
		g.rooms[roomJID] = r
	case tomb != nil:
		g.tombs[roomJID] = tomb
	default:
		g.rememberAbsent(roomJID)
	}
	l.r = r
	close(l.done)
	g.mu.Unlock()
	return r, l.err
}

// rememberAbsent notes that the store holds no such room; it runs under
// the registry lock. When the cache is full, expired entries go, and if
// none had, everything does: the cache only saves store calls.
func (g *Registry) rememberAbsent(roomJID string) {
	now := g.svc.now()
	if len(g.absent) >= absentMax {
		for j, until := range g.absent {
			if !now.Before(until) {
				delete(g.absent, j)
			}
		}
		if len(g.absent) >= absentMax {
			clear(g.absent)
		}
	}
	g.absent[roomJID] = now.Add(absentTTL)
}

// ErrNotStored is what Destroy returns when the store refused the change:
// the room is left as it was.
var ErrNotStored = errors.New("room: the change could not be stored")

// Destroy destroys a room as a service administrator does, through the
// same transaction as an owner's destroy (XEP-0045 §10.9), so the store
// ends the same way: record gone, tombstone written. A persistent room
// that is not in memory is loaded first. It returns the stanzas to send and
// whether the room existed; err is set when nothing was done.
func (g *Registry) Destroy(roomJID, alt, reason string) (outs []Out, found bool, err error) {
	outs, serr, err := g.transactAlways(roomJID, orLoad, nil, true, func(r *Room) { r.destroy(alt, reason, "") })
	switch {
	case serr == errItemNotFound:
		return nil, false, nil
	case serr != nil:
		return nil, true, errors.New("room: " + serr.Text)
	case err != nil:
		return nil, true, fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	return outs, true, nil
}

// RoomItem describes a room for service discovery.
type RoomItem struct {
	JID, Name string
}

// MaxRoomPage bounds one page of the room list.
const MaxRoomPage = 1000

// RoomQuery asks for one page of the public room list (XEP-0059 over
// XEP-0045 §6.3). Pages are in JID order, compared bytewise.
type RoomQuery struct {
	// After and Before are room JIDs: the page starts after After or ends
	// before Before; Last asks for the last page.
	After, Before string
	Last          bool
	// Max bounds the page, up to MaxRoomPage; 0 asks only for the count.
	Max int
}

// RoomPage is one page of public rooms.
type RoomPage struct {
	Items []RoomItem
	// Count is the number of public rooms; Index that of Items[0] among them.
	Count, Index int
}

// listable reports whether a live room belongs in the public list
// (XEP-0045 §6.3: public rooms; a locked room is not there yet).
func (r *Room) listable() bool {
	return r.cfg.Public && r.created && !r.locked && !r.closed
}

func listName(jid, name string) string {
	if name == "" {
		return localOf(jid)
	}
	return name
}

// PublicRooms returns one page of the public rooms: those the store keeps,
// whether in memory or not, and the live temporary ones.
func (g *Registry) PublicRooms(q RoomQuery) (RoomPage, error) {
	n := min(q.Max, MaxRoomPage)
	backward := q.Before != "" || q.Last
	inWindow := func(j string) bool {
		return (q.After == "" || j > q.After) && (q.Before == "" || j < q.Before)
	}
	// Live rooms the store does not hold: temporary ones (and every room
	// without a store). A stored room's listing is the store's, which
	// every change reaches before it is live.
	var extra []RoomItem
	for _, r := range g.snapshot() {
		r.mu.Lock()
		if r.listable() && !r.stored {
			extra = append(extra, RoomItem{JID: r.jid, Name: listName(r.jid, r.cfg.Name)})
		}
		r.mu.Unlock()
	}
	var stored store.RoomList
	if g.svc.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		var err error
		stored, err = g.svc.store.ListRooms(ctx, store.RoomListQuery{PublicOnly: true,
			After: q.After, Before: q.Before, Last: q.Last, Max: max(n, 1)})
		if err != nil {
			return RoomPage{}, err
		}
	}
	page := RoomPage{Count: stored.Total + len(extra)}
	if n <= 0 {
		return page, nil
	}
	seen := map[string]bool{}
	items := make([]RoomItem, 0, len(stored.Rooms)+len(extra))
	for _, s := range stored.Rooms {
		seen[s.JID] = true
		items = append(items, RoomItem{JID: s.JID, Name: listName(s.JID, s.Name)})
	}
	for _, it := range extra {
		if inWindow(it.JID) && !seen[it.JID] {
			items = append(items, it)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].JID < items[j].JID })
	if len(items) > n {
		if backward {
			items = items[len(items)-n:]
		} else {
			items = items[:n]
		}
	}
	page.Items = items
	if len(items) == 0 {
		return page, nil
	}
	// The index of the first item: the stored rooms before it (the store
	// counted those before its own first; its page is contiguous) and
	// the live ones before it.
	first := items[0].JID
	switch {
	case len(stored.Rooms) > 0:
		page.Index = stored.Index
		for _, s := range stored.Rooms {
			if s.JID < first {
				page.Index++
			}
		}
	case !backward:
		page.Index = stored.Total // every stored room is before the window
	}
	for _, it := range extra {
		if it.JID < first {
			page.Index++
		}
	}
	return page, nil
}

// RoomJIDs lists every room, in memory or stored, in JID order: what
// administrators may act on.
func (g *Registry) RoomJIDs() ([]string, error) {
	all := map[string]bool{}
	for _, r := range g.snapshot() {
		all[r.jid] = true
	}
	if g.svc.store != nil {
		q := store.RoomListQuery{Max: MaxRoomPage}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			l, err := g.svc.store.ListRooms(ctx, q)
			cancel()
			if err != nil {
				return nil, err
			}
			for _, s := range l.Rooms {
				all[s.JID] = true
			}
			if len(l.Rooms) < MaxRoomPage {
				break
			}
			q.After = l.Rooms[len(l.Rooms)-1].JID
		}
	}
	out := make([]string, 0, len(all))
	for j := range all {
		out = append(out, j)
	}
	sort.Strings(out)
	return out, nil
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

// load reads a room from the store: nil when none is stored, or its
// tombstone. It runs without the registry lock.
func (g *Registry) load(roomJID string) (*Room, *tombstone, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	st, err := g.svc.store.LoadRoom(ctx, roomJID)
	if err != nil || st == nil {
		return nil, nil, err
	}
	if t := st.Tombstone; t != nil {
		return nil, &tombstone{alt: t.Alt, reason: t.Reason, until: t.Until}, nil
	}
	var rec record
	_ = json.Unmarshal(st.Data, &rec)
	n := rec.Config.HistoryLength
	if n <= 0 || !rec.Config.Logging {
		n = 0
	}
	var hist []store.Message
	if n > 0 {
		if hist, err = g.svc.store.Latest(ctx, roomJID, n); err != nil {
			return nil, nil, err
		}
	}
	r, err := restore(g.svc, st, hist)
	return r, nil, err
}

// forgetTombstone drops a tombstone from memory and the store. It runs
// under the registry lock and releases it for the store call; the room
// is marked loading meanwhile, so its stanzas wait and nobody else does.
func (g *Registry) forgetTombstone(roomJID string) error {
	if g.svc.store != nil {
		l := &roomLoad{done: make(chan struct{})}
		g.loading[roomJID] = l
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := g.svc.store.DeleteRoom(ctx, roomJID, nil)
		cancel()
		g.mu.Lock()
		delete(g.loading, roomJID)
		close(l.done)
		if err != nil {
			return err
		}
	}
	delete(g.tombs, roomJID)
	return nil
}

// Stats are gauges of the service.
type Stats struct {
	Rooms, Occupants, Sessions int
}

// Stats counts live rooms and their occupants.
func (g *Registry) Stats() Stats {
	var s Stats
	for _, r := range g.snapshot() {
		r.mu.Lock()
		s.Rooms++
		s.Occupants += len(r.occupants)
		s.Sessions += len(r.byReal)
		r.mu.Unlock()
	}
	return s
}
