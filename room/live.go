package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"chorus/affiliations"
	"chorus/stanza"
	"chorus/store"
)

// Live state: who is in which room, kept in the store (store.LiveStore) so
// that a restarted service, or a standby taking over, puts every occupant
// back where they were instead of sending everyone away (status 332). The
// clients stay connected to their server throughout; only the rooms must
// outlive the process.
//
// It is written behind: a transaction that changed who is present, under
// which nick, role or presence, only marks its room (Room.run, a flag and
// a map entry); every LiveInterval one goroutine (liveLoop) snapshots the
// marked rooms, each under its own lock only, and writes them all in one
// SaveLive. No stanza ever waits for it. The bound: the stored occupancy
// is at most LiveInterval plus one SaveLive behind the rooms; a write that
// fails leaves its rooms marked, for the next tick.

// defaultLiveInterval is the write-behind period when Options.LiveInterval
// is zero.
const defaultLiveInterval = 250 * time.Millisecond

// What Shutdown does with the occupants (Options.OnStop).
const (
	// OnStopKeep leaves everyone in their rooms: the live state is
	// written and a restarted service takes them back (Restore).
	OnStopKeep = "keep"
	// OnStopKick tells every occupant the service goes away (status 332)
	// and clears the live state.
	OnStopKick = "kick"
)

// liveState is the registry's write-behind of live state.
type liveState struct {
	st       store.LiveStore
	interval time.Duration
	kick     bool // Options.OnStop is OnStopKick

	mu    sync.Mutex       // guards dirty; a leaf lock, taken under a room's mu
	dirty map[string]*Room // rooms changed since their last write, by JID

	// flushMu makes flushes one at a time, so that an older snapshot
	// never overwrites a newer one.
	flushMu sync.Mutex
	failing bool // the last SaveLive failed (reported once per streak)
}

// liveRecord is a temporary room's record in the live state
// (store.LiveRoom.Data): what persist writes for a persistent room, and
// what only memory holds of a temporary one.
type liveRecord struct {
	record
	Locked  bool          `json:"locked,omitempty"`
	History []liveHistory `json:"history,omitempty"`
}

type liveHistory struct {
	At     time.Time `json:"at"`
	Stanza string    `json:"stanza"`
}

// liveStateChanged marks the room for the next write of live state; it
// runs under the room lock. Every change to who is present goes through
// it (audienceChanged, publish), so do a temporary room's changes of
// record, affiliations and history (Room.run), and Room.run hands the
// room on.
func (r *Room) liveStateChanged() { r.liveChanged = true }

// markLive queues r for the next write of live state; under the room lock.
func (l *liveState) markLive(r *Room) {
	l.mu.Lock()
	l.dirty[r.jid] = r
	l.mu.Unlock()
}

// liveLoop writes the marked rooms every interval until the registry stops.
func (g *Registry) liveLoop() {
	defer g.stopped.Done()
	t := time.NewTicker(g.svc.live.interval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			_ = g.flushLive(false)
		}
	}
}

// flushLive writes the live state of the marked rooms, or with all of
// every room in memory, in one SaveLive. On failure the rooms stay marked
// and the operator hears of it once per run of failures.
func (g *Registry) flushLive(all bool) error {
	l := g.svc.live
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	rooms := l.dirty
	l.dirty = map[string]*Room{}
	l.mu.Unlock()
	if all {
		for _, r := range g.snapshot() {
			rooms[r.jid] = r
		}
	}
	if len(rooms) == 0 {
		return nil
	}
	batch := make([]store.LiveRoom, 0, len(rooms))
	var gone []string
	for _, r := range rooms {
		lr, err := r.liveSnapshot()
		switch {
		case err != nil:
			r.reportStoreError(err)
			fallthrough
		case lr == nil:
			gone = append(gone, r.jid)
		default:
			batch = append(batch, *lr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	err := l.st.SaveLive(ctx, batch, gone)
	cancel()
	if err != nil {
		l.mu.Lock()
		for jid, r := range rooms {
			if l.dirty[jid] == nil { // a newer mark keeps its room
				l.dirty[jid] = r
			}
		}
		l.mu.Unlock()
		if !l.failing && g.svc.onStoreError != nil {
			g.svc.onStoreError(fmt.Errorf("live state: %w", err))
		}
		l.failing = true
		return err
	}
	l.failing = false
	return nil
}

// liveSnapshot returns the room's live state, nil when it has none to
// keep (empty, destroyed or gone from memory). The room lock is held for
// a copy only (and a temporary room's record); presences and history are
// encoded after (they are never changed in place: setSession swaps them).
func (r *Room) liveSnapshot() (*store.LiveRoom, error) {
	type sess struct {
		jid, nick, role string
		presence        *stanza.Element
		joined          time.Time
	}
	r.mu.Lock()
	if r.closed || r.destroyed != nil || r.isEmpty() || !r.created {
		r.mu.Unlock()
		return nil, nil
	}
	lr := &store.LiveRoom{JID: r.jid, Temporary: !r.cfg.Persistent}
	var rec *liveRecord
	var hist []historyEntry
	if lr.Temporary {
		rec = &liveRecord{record: r.record(), Locked: r.locked}
		hist = slices.Clone(r.history.entries)
		for j, a := range r.affs {
			lr.Affiliations = append(lr.Affiliations, store.Affiliation{JID: j, Affiliation: a.aff.String(), Reason: a.reason, Nick: a.nick})
		}
	}
	var ss []sess
	for _, o := range r.occupants {
		if o.Role == affiliations.RoleNone {
			continue // on its way out (Shutdown's kick)
		}
		for _, s := range o.sessions {
			ss = append(ss, sess{jid: s.jid, nick: o.Nick, role: o.Role.String(), presence: s.presence, joined: s.joined})
		}
	}
	r.mu.Unlock()
	if len(ss) == 0 {
		return nil, nil
	}
	if rec != nil {
		// History entries are never changed in place (history.replace
		// swaps them), so they are encoded out of the lock.
		for _, e := range hist {
			rec.History = append(rec.History, liveHistory{At: e.at, Stanza: e.msg.String()})
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("room %s: live record: %w", r.jid, err)
		}
		lr.Data = data
	}
	lr.Sessions = make([]store.LiveSession, len(ss))
	for i, s := range ss {
		ls := store.LiveSession{FullJID: s.jid, Nick: s.nick, Role: s.role, Joined: s.joined}
		if s.presence != nil {
			ls.Presence = s.presence.Append(nil)
		}
		lr.Sessions[i] = ls
	}
	return lr, nil
}

// Restore puts the rooms of the live state back in memory, each live with
// its occupants and their sessions, as they were at the last write: a
// persistent room is loaded from its stored record as any load is, a
// temporary one rebuilt from the live state. It is meant to run once, at
// start, before the link to the server is up; a room that cannot be
// restored is reported (Options.OnStoreError) and dropped from the live
// state. It returns how many rooms and sessions came back.
func (g *Registry) Restore(ctx context.Context) (rooms, sessions int, err error) {
	if g.svc.live == nil {
		return 0, 0, nil
	}
	lrs, err := g.svc.live.st.LoadLive(ctx)
	if err != nil {
		return 0, 0, err
	}
	var failed []error
	var dropped []string
	// Equal presences are common (none, away, the same client): each is
	// parsed once, and shared as setSession shares them anyway.
	parsed := map[string]*stanza.Element{}
	for i := range lrs {
		lr := &lrs[i]
		r, err := g.restoreLive(lr, parsed)
		if err != nil {
			failed = append(failed, err)
			if g.svc.onStoreError != nil {
				g.svc.onStoreError(err)
			}
		}
		if r == nil {
			dropped = append(dropped, lr.JID)
			continue
		}
		g.mu.Lock()
		if g.rooms[r.jid] == nil {
			g.rooms[r.jid] = r
			delete(g.absent, r.jid)
			rooms++
			sessions += len(r.byReal)
		}
		g.mu.Unlock()
	}
	// What could not come back leaves the live state at the next write:
	// an empty room there is one to forget.
	g.svc.live.mu.Lock()
	for _, jid := range dropped {
		g.svc.live.dirty[jid] = newRoom(g.svc, jid)
	}
	g.svc.live.mu.Unlock()
	return rooms, sessions, errors.Join(failed...)
}

// restoreLive builds one room of the live state; nil when a persistent
// room is no longer stored.
func (g *Registry) restoreLive(lr *store.LiveRoom, parsed map[string]*stanza.Element) (*Room, error) {
	var r *Room
	if lr.Temporary {
		var rec liveRecord
		if err := json.Unmarshal(lr.Data, &rec); err != nil {
			return nil, fmt.Errorf("room %s: live record: %w", lr.JID, err)
		}
		hist := make([]store.Message, len(rec.History))
		for i, h := range rec.History {
			hist[i] = store.Message{Room: lr.JID, At: h.At, Stanza: []byte(h.Stanza)}
		}
		var err error
		r, err = restore(g.svc, &store.RoomState{JID: lr.JID, Data: lr.Data, Affiliations: lr.Affiliations}, hist)
		if err != nil {
			return nil, err
		}
		r.locked = rec.Locked
		r.stored = false // a temporary room is in the store only as live state
		clear(r.dirtyAffs)
	} else {
		var err error
		r, _, err = g.load(lr.JID)
		if err != nil || r == nil {
			return nil, err
		}
	}
	for _, s := range lr.Sessions {
		role, ok := affiliations.ParseRole(s.Role)
		if !ok || role == affiliations.RoleNone {
			return nil, fmt.Errorf("room %s: live session %s: role %q", lr.JID, s.FullJID, s.Role)
		}
		var pres *stanza.Element
		if s.Presence != nil {
			pres = parsed[string(s.Presence)]
		}
		if pres == nil && s.Presence != nil {
			p, err := stanza.Parse(string(s.Presence))
			if err != nil {
				return nil, fmt.Errorf("room %s: live session %s: presence: %w", lr.JID, s.FullJID, err)
			}
			pres = p
			parsed[string(s.Presence)] = p
		}
		o := r.byNick[nickKey(s.Nick)]
		if o == nil {
			o = &Occupant{Nick: s.Nick, Bare: bareOf(s.FullJID), Role: role}
			r.addOccupant(o)
		}
		o.setSession(s.FullJID, pres)
		o.sessions[o.session(s.FullJID)].joined = s.Joined
		r.byReal[s.FullJID] = o
	}
	r.audienceChanged()
	r.liveChanged = false
	return r, nil
}
