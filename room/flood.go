package room

import (
	"sort"
	"sync"
	"time"
)

// Flood control: token buckets per user and room, and presence updates
// that come too fast deferred rather than refused.

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// refill brings the bucket up to now.
func (b *bucket) refill(now time.Time, rate float64, burst int) {
	b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
}

// wait is how long until the bucket, refilled at now, holds a token.
func (b *bucket) wait(rate float64) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// limiter holds the buckets of one kind of traffic in one room, by the
// sender's bare JID. A bucket belongs to the user, not to the occupant:
// it outlives nick changes, leaving and rejoining, or those would refill
// it at will. It is forgotten only once it has refilled, when it is the
// same as none, so memory follows the users active within one refill time.
type limiter struct {
	buckets map[string]*bucket
	sweepAt int // size at which full buckets are next swept out
}

// minSweep is the smallest map worth sweeping.
const minSweep = 64

// get returns bare's bucket, refilled to now; a new one is full.
func (l *limiter) get(bare string, now time.Time, rate float64, burst int) *bucket {
	b := l.buckets[bare]
	if b != nil {
		b.refill(now, rate, burst)
		return b
	}
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if len(l.buckets) >= max(l.sweepAt, minSweep) {
		l.sweep(now, rate, burst)
	}
	b = &bucket{tokens: float64(burst), last: now}
	l.buckets[bare] = b
	return b
}

// sweep forgets the buckets that are full again. Run when the map has
// doubled since the last sweep, it costs O(1) per bucket made.
func (l *limiter) sweep(now time.Time, rate float64, burst int) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*rate >= float64(burst) {
			delete(l.buckets, k)
		}
	}
	l.sweepAt = 2 * len(l.buckets)
}

// take spends one of bare's tokens if there is one. A rate of zero is no
// limit.
func (l *limiter) take(bare string, now time.Time, rate float64, burst int) bool {
	if rate <= 0 {
		return true
	}
	b := l.get(bare, now, rate, max(burst, 1))
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// wait is how long bare must wait for a token.
func (l *limiter) wait(bare string, now time.Time, rate float64, burst int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return l.get(bare, now, rate, max(burst, 1)).wait(rate)
}

// allowMessage spends one of a user's message tokens in this room:
// groupchat, private messages and invitations share them.
func (r *Room) allowMessage(bare string) bool {
	l := &r.svc.limits
	return r.msgLimit.take(bare, r.svc.now(), l.MessageRate, l.MessageBurst)
}

// allowPresence spends one of a user's presence tokens in this room:
// joins, presence updates and nick changes share them.
func (r *Room) allowPresence(bare string) bool {
	l := &r.svc.limits
	return r.presLimit.take(bare, r.svc.now(), l.PresenceRate, l.PresenceBurst)
}

// deferPresence keeps a presence update that came over the rate, to be
// applied when the sender has a token again. Refusing it would answer with
// an error presence from the occupant's own address, which clients take
// for being removed from the room; ejabberd's MUC defers in the same way.
// Only the latest update of each session is kept, so a flood costs the
// room one presence per token, and nothing queues up.
func (r *Room) deferPresence(o *Occupant, req *request) {
	if r.deferred == nil {
		r.deferred = map[string]*request{}
	}
	r.deferred[req.from] = req
	l := &r.svc.limits
	now := r.svc.now()
	r.svc.timers.schedule(r.jid, now.Add(r.presLimit.wait(o.Bare, now, l.PresenceRate, l.PresenceBurst)))
}

// applyDeferred applies the deferred presence updates whose senders have a
// token again, and asks to be called back for the others.
func (r *Room) applyDeferred() {
	sessions := make([]string, 0, len(r.deferred))
	for s := range r.deferred {
		sessions = append(sessions, s)
	}
	sort.Strings(sessions) // a stable order of output
	l := &r.svc.limits
	now := r.svc.now()
	for _, s := range sessions {
		req := r.deferred[s]
		o := r.occupantBySession(s)
		if o == nil {
			delete(r.deferred, s) // it left meanwhile
			continue
		}
		if w := r.presLimit.wait(o.Bare, now, l.PresenceRate, l.PresenceBurst); w > 0 {
			r.svc.timers.schedule(r.jid, now.Add(w))
			continue
		}
		delete(r.deferred, s)
		r.normalPresence(req)
	}
}

// timers are the times at which rooms have deferred work, by room JID.
// The component asks for the rooms that are due and runs each in that
// room's turn (Registry.Due, Registry.Fire).
type timers struct {
	mu  sync.Mutex
	due map[string]time.Time
}

// schedule asks for the room to be run at or after at; the earliest time
// asked for wins.
func (t *timers) schedule(roomJID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.due == nil {
		t.due = map[string]time.Time{}
	}
	if d, ok := t.due[roomJID]; !ok || at.Before(d) {
		t.due[roomJID] = at
	}
}

// take removes and returns the rooms due at now, in JID order.
func (t *timers) take(now time.Time) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var rooms []string
	for j, at := range t.due {
		if !at.After(now) {
			rooms = append(rooms, j)
			delete(t.due, j)
		}
	}
	sort.Strings(rooms)
	return rooms
}

// Due returns the rooms whose deferred work is due at now. The caller runs
// each with Fire, in the order of that room's stanzas.
func (g *Registry) Due(now time.Time) []string {
	return g.svc.timers.take(now)
}

// Fire runs a room's due work (deferred presence updates) and returns what
// to send. A room no longer live has nothing due.
func (g *Registry) Fire(roomJID string) []Out {
	outs, _, _ := g.transact(roomJID, liveOnly, nil, (*Room).applyDeferred)
	return outs
}
