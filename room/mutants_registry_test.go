package room

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"chorus/stanza"
	"chorus/store"
)

const destroyReq = `<iq type='set' id='d' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`

// TestTombstoneLifetime: a destroyed persistent room's address stays gone for the
// service's tombstone time, 31 days unless configured (XEP-0045 §10.9
// leaves it to the service), and is free again just after.
func TestTombstoneLifetime(t *testing.T) {
	for i, tc := range [...]struct {
		ttl   time.Duration // Options.TombstoneTTL
		after time.Duration
		gone  bool
	}{
		0: {0, 31*24*time.Hour - time.Second, true},
		1: {0, 31 * 24 * time.Hour, true},
		2: {0, 31*24*time.Hour + time.Second, false},
		3: {time.Hour, time.Hour, true},
		4: {time.Hour, time.Hour + time.Second, false},
	} {
		h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		h.g = NewRegistry(Options{Domain: "conference.localhost", Now: h.clock, TombstoneTTL: tc.ttl})
		h.createRoom("muc#roomconfig_persistentroom", "1")
		h.send(romeo, destroyReq)
		h.advance(tc.after)
		out := h.send(juliet, join("Juliet"))
		if gone := len(out) == 1 && condition(out[0]) == "cancel/gone"; gone != tc.gone {
			t.Errorf("%d: gone %v, want %v: %v", i, gone, tc.gone, out)
		}
	}
}

// TestMessageIDsFromOptions: a groupchat message sent without an id gets
// one from Options.NewID, the service's source of ids.
func TestMessageIDsFromOptions(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body></message>`)
	id := pick(out, romeo, "message")[0].Attr("id")
	if len(id) < 3 || id[:2] != "id" {
		t.Errorf("message id %q not from Options.NewID", id)
	}
}

// countingStore records the size of each Append.
type countingStore struct {
	*memStore
	mu      sync.Mutex
	appends []int
}

func (c *countingStore) Append(ctx context.Context, msgs []store.Message) error {
	c.mu.Lock()
	c.appends = append(c.appends, len(msgs))
	c.mu.Unlock()
	return c.memStore.Append(ctx, msgs)
}

// TestArchiveWritesFullBatchesAtOnce: the archive queue writes a full
// batch in one transaction as soon as it is full, without waiting for the
// flush tick, and lets a partial batch wait for the tick.
func TestArchiveWritesFullBatchesAtOnce(t *testing.T) {
	for i, n := range [...]int{0: archiveBatch - 1, 1: archiveBatch} {
		synctest.Test(t, func(t *testing.T) {
			st := &countingStore{memStore: newMemStore()}
			a := newArchiver(st, nil)
			for k := range n {
				a.ch <- archiveOp{msg: &store.Message{Room: room1, ID: fmt.Sprint(k)}}
			}
			synctest.Wait()
			st.mu.Lock()
			got := fmt.Sprint(st.appends)
			st.mu.Unlock()
			want := "[]"
			if n == archiveBatch {
				want = fmt.Sprint([]int{archiveBatch})
			}
			if got != want {
				t.Errorf("%d: appends before the tick %s, want %s", i, got, want)
			}
			time.Sleep(archiveFlushEvery)
			synctest.Wait()
			st.mu.Lock()
			got = fmt.Sprint(st.appends)
			st.mu.Unlock()
			if want := fmt.Sprint([]int{n}); got != want {
				t.Errorf("%d: appends after the tick %s, want %s", i, got, want)
			}
			close(a.ch)
			<-a.done
		})
	}
}

// expiryStore fails Expire.
type expiryStore struct{ *memStore }

func (expiryStore) Expire(context.Context, time.Time) (int64, error) { return 0, errFail }

// TestArchiveExpiryCutoff: the archive keeps a year unless configured
// otherwise (a zero or negative retention means the default), and a
// failed expiry reaches the operator.
func TestArchiveExpiryCutoff(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, tc := range [...]struct {
		expiry time.Duration
		cutoff time.Time
	}{
		0: {0, now.Add(-365 * 24 * time.Hour)},
		1: {-time.Hour, now.Add(-365 * 24 * time.Hour)},
		2: {time.Hour, now.Add(-time.Hour)},
	} {
		synctest.Test(t, func(t *testing.T) {
			st := newMemStore()
			g := NewRegistry(Options{Domain: "conference.localhost", Store: st, ArchiveExpiry: tc.expiry, Now: func() time.Time { return now }})
			synctest.Wait()
			g.Close()
			if len(st.expired) != 1 || !st.expired[0].Equal(tc.cutoff) {
				t.Errorf("%d: expiry cutoffs %v, want %v", i, st.expired, tc.cutoff)
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		var errs []error
		g := NewRegistry(Options{Domain: "conference.localhost", Store: expiryStore{newMemStore()},
			OnStoreError: func(err error) { errs = append(errs, err) }})
		synctest.Wait()
		g.Close()
		if len(errs) != 1 || !errors.Is(errs[0], errFail) {
			t.Errorf("expiry failure reported as %v", errs)
		}
	})
}

// TestCloseFlushesArchive: Close writes what the archive queue holds, so
// a clean shutdown loses no message; a second Close, or Close of a
// registry without a store, does nothing.
func TestCloseFlushesArchive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore()
		h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		h.g = NewRegistry(Options{Domain: "conference.localhost", Now: h.clock, Store: st})
		h.createRoom("muc#roomconfig_persistentroom", "1")
		sayIn(t, h, romeo, room1, "last words")
		h.g.Close() // no time passes in the bubble: only Close can write it
		st.mu.Lock()
		n := len(st.msgs)
		st.mu.Unlock()
		if n != 1 {
			t.Errorf("%d messages stored after Close, want 1", n)
		}
		h.g.Close()
	})
	newHarness(t).g.Close()
}

// TestNoErrorForResultsAndErrors: an IQ result or an error stanza to a
// room that does not exist gets no answer (RFC 6120 §8.3.1: never answer
// an error with an error; §8.2.3: a result needs no reply); a get does.
func TestNoErrorForResultsAndErrors(t *testing.T) {
	for i, tc := range [...]struct {
		stanza string
		answer bool
	}{
		0: {`<iq type='result' id='r' to='none@conference.localhost'/>`, false},
		1: {`<iq type='error' id='r' to='none@conference.localhost'/>`, false},
		2: {`<message type='error' to='none@conference.localhost'/>`, false},
		3: {`<iq type='get' id='r' to='none@conference.localhost'><query xmlns='jabber:iq:version'/></iq>`, true},
		4: {`<message type='result' to='none@conference.localhost'><body>x</body></message>`, true},
	} {
		h := newHarness(t)
		if out := h.send(juliet, tc.stanza); (len(out) != 0) != tc.answer {
			t.Errorf("%d: %v", i, out)
		}
	}
}

// TestMalformedNickSaysWhy: a stanza to an occupant address with an empty
// or invalid nick is refused by the room, saying which.
func TestMalformedNickSaysWhy(t *testing.T) {
	for i, tc := range [...]struct {
		nick, text string
	}{
		0: {"", textNickEmpty},
		1: {"\u0007", textNickInvalid},
	} {
		h := newHarness(t)
		h.createRoom()
		st := stanza.MustParse(join("x"))
		st.SetAttr("to", room1+"/"+tc.nick)
		st.SetAttr("from", juliet)
		out := Flatten(h.g.Handle(st))
		if len(out) != 1 || condition(out[0]) != "modify/jid-malformed" {
			t.Fatalf("%d: %v", i, out)
		}
		if text := errorText(out[0]); text != tc.text {
			t.Errorf("%d: text %q, want %q", i, text, tc.text)
		}
	}
}

// TestGoneSaysWhy: a join to a destroyed room is answered gone with the
// owner's reason when there was one (XEP-0045 §10.9).
func TestGoneSaysWhy(t *testing.T) {
	for i, tc := range [...]struct {
		destroy, text string
	}{
		0: {`<destroy><reason>Moved on</reason></destroy>`, "Moved on"},
		1: {`<destroy/>`, "This room has been destroyed"},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'>`+tc.destroy+`</query></iq>`)
		out := h.send(juliet, join("Juliet"))
		if len(out) != 1 || condition(out[0]) != "cancel/gone" {
			t.Fatalf("%d: %v", i, out)
		}
		if text := errorText(out[0]); text != tc.text {
			t.Errorf("%d: text %q, want %q", i, text, tc.text)
		}
	}
}

// TestRoomsPerUserCountsLiveRooms: the limit on rooms a user creates
// counts the rooms still there: one that goes away frees a place, and
// only one; a user with no rooms left is not remembered.
func TestRoomsPerUserCountsLiveRooms(t *testing.T) {
	h := newLimitedHarness(t, Limits{RoomsPerUser: 2})
	at := func(name, stanza string) string {
		return strings.Replace(stanza, room1, name+"@conference.localhost", 1)
	}
	h.send(romeo, at("a", join("Romeo")))
	h.send(romeo, at("a", instant))
	h.send(romeo, at("b", join("Romeo")))
	h.send(romeo, at("b", instant))
	h.send(romeo, at("a", `<presence type='unavailable' to='`+room1+`/Romeo'/>`)) // a goes away
	if out := h.send(romeo, at("c", join("Romeo"))); out[0].Attr("type") == "error" {
		t.Fatalf("a freed place refused: %v", out)
	}
	if out := h.send(romeo, at("d", join("Romeo"))); len(out) != 1 || condition(out[0]) != "wait/resource-constraint" {
		t.Errorf("third live room: %v", out)
	}
	for _, name := range []string{"b", "c"} {
		h.send(romeo, at(name, `<presence type='unavailable' to='`+room1+`/Romeo'/>`))
	}
	if len(h.g.created) != 0 {
		t.Errorf("creators remembered with no rooms: %v", h.g.created)
	}
}

// TestProbeOfMissingRoomLeavesNothing: with a store, a stanza to a room
// that neither lives nor is stored leaves no trace in the registry.
func TestProbeOfMissingRoomLeavesNothing(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.send(juliet, `<message type='groupchat' to='nowhere@conference.localhost'><body>x</body></message>`)
	if len(h.g.rooms) != 0 {
		t.Errorf("rooms after a probe: %v", h.g.rooms)
	}
	if s := h.g.Stats(); s.Rooms != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRoomAnswersNoResult: a room answers no IQ result, even one it did
// not expect (RFC 6120 §8.2.3), but does refuse a message of a type it
// does not take, whatever the type is called.
func TestRoomAnswersNoResult(t *testing.T) {
	for i, tc := range [...]struct {
		stanza string
		answer bool
	}{
		0: {`<iq type='result' id='x' to='` + room1 + `'/>`, false},
		1: {`<iq type='result' id='x' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`, false},
		2: {`<message type='result' to='` + room1 + `'><body>x</body></message>`, true},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(juliet, join("Juliet"))
		if out := pick(h.send(juliet, tc.stanza), juliet, tc.stanza[1:strings.IndexByte(tc.stanza, ' ')]); (len(out) != 0) != tc.answer {
			t.Errorf("%d: %v", i, out)
		}
	}
}

// TestSessionCheckInRoomOrder: the session check pings rooms in JID
// order, so what the component sends after a reconnect is the same each
// time for the same rooms.
func TestSessionCheckInRoomOrder(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"b", "c", "a"} {
		h.send(romeo, strings.Replace(join("Romeo"), room1, name+"@conference.localhost", 1))
	}
	var from []string
	for _, o := range h.g.CheckSessions() {
		from = append(from, o.Stanza.Attr("from"))
	}
	if got := strings.Join(from, " "); got != "a@conference.localhost b@conference.localhost c@conference.localhost" {
		t.Errorf("pings from %s", got)
	}
}
