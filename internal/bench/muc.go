package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"chorus/stanza"
)

// JoinTimeout bounds the wait for a self-presence, and for the answer to
// the form that unlocks a new room.
const JoinTimeout = 60 * time.Second

// member is a client that joins one room under its user name as nick.
type member struct {
	user   string
	room   string // bare room JID
	occJID string // room/nick
	c      *Client

	// joined is set by the reader goroutine once the self-presence (or a
	// refusal) has been passed on; later presence is only broadcast.
	joined bool
	selfCh chan joinResult // the self-presence or refusal
	iqCh   chan error      // the answer to the owner form

	// Set before the join, read by the reader goroutine after it.
	persistent bool // a room this member creates is made persistent
	// history asks for the room's default history (no maxstanzas='0');
	// the join then ends with the subject message, which XEP-0045
	// §7.2.15 puts after the history.
	history bool
	subject bool          // the subject message arrived (reader goroutine only)
	subjCh  chan struct{} // closed when it did
	// histGot counts the messages that arrived between the self-presence
	// and the subject: the history (reader goroutine; read after subjCh).
	histGot int

	echoWant atomic.Pointer[string] // id of the message whose echo post waits for
	echoCh   chan struct{}
}

type joinResult struct {
	at      time.Time // when it arrived
	created bool      // status 201: a new room waits for configuration
	err     error
}

func newMember(user, room string) *member {
	return &member{
		user: user, room: room, occJID: room + "/" + user,
		selfCh: make(chan joinResult, 1), iqCh: make(chan error, 1), subjCh: make(chan struct{}),
		echoCh: make(chan struct{}, 1),
	}
}

// handle is the part of a member's handler that follows the join; the
// scenarios call it for everything that is not their own traffic.
func (m *member) handle(st []byte) {
	switch string(Name(st)) {
	case "presence":
		if m.joined {
			return
		}
		from, _ := Attr(st, "from")
		if typ, _ := Attr(st, "type"); string(typ) == "error" {
			if bytes.EqualFold(from, []byte(m.occJID)) || bytes.EqualFold(from, []byte(m.room)) {
				m.joined = true
				m.selfCh <- joinResult{err: fmt.Errorf("join refused: %s", clip(st))}
			}
			return
		}
		// Status 110 marks the self-presence; servers that leave it out
		// are recognised by the occupant JID.
		if HasStatus(st, "110") || bytes.EqualFold(from, []byte(m.occJID)) {
			m.joined = true
			m.selfCh <- joinResult{at: time.Now(), created: HasStatus(st, "201")}
		}
	case "message":
		if w := m.echoWant.Load(); w != nil {
			if id, _ := Attr(st, "id"); string(id) == *w {
				m.echoWant.Store(nil)
				m.echoCh <- struct{}{}
				return
			}
		}
		if !m.history || !m.joined || m.subject {
			return
		}
		if typ, _ := Attr(st, "type"); string(typ) != "groupchat" {
			return
		}
		if _, ok := Child(st, "subject"); ok {
			if _, body := Child(st, "body"); !body {
				m.subject = true
				close(m.subjCh)
				return
			}
		}
		m.histGot++
	case "iq":
		if id, _ := Attr(st, "id"); string(id) != "create" {
			return
		}
		var err error
		if typ, _ := Attr(st, "type"); string(typ) != "result" {
			err = fmt.Errorf("room configuration refused: %s", clip(st))
		}
		select {
		case m.iqCh <- err:
		default:
		}
	}
}

// joinStanza is the join presence: no history, which would only add
// traffic that the scenarios do not measure, unless the member asks for
// the room's default history as clients do.
func (m *member) joinStanza() []byte {
	if m.history {
		return []byte("<presence to='" + escAttr(m.occJID) + "'><x xmlns='" + stanza.NSMUC + "'/></presence>")
	}
	return []byte("<presence to='" + escAttr(m.occJID) + "'><x xmlns='" + stanza.NSMUC + "'><history maxstanzas='0'/></x></presence>")
}

// createForm is the owner's answer to a new room (XEP-0045 §10.1.2): the
// default configuration (an instant room), or a persistent room.
func (m *member) createForm() string {
	fields := ""
	if m.persistent {
		fields = "<field var='FORM_TYPE' type='hidden'><value>" + stanza.NSMUC + "#roomconfig</value></field>" +
			"<field var='muc#roomconfig_persistentroom'><value>1</value></field>"
	}
	return "<iq type='set' id='create' to='" + escAttr(m.room) + "'><query xmlns='" + stanza.NSMUCOwner +
		"'><x xmlns='jabber:x:data' type='submit'>" + fields + "</x></query></iq>"
}

// join sends the join presence and waits for the self-presence, or with
// history for the subject that ends the join. When the room is new
// (status 201) it submits the configuration, as an owner's client does
// for an instant room, and waits for the answer. It returns the time from
// sending to the self-presence, or to the subject with history.
func (m *member) join(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := m.c.Write(m.joinStanza()); err != nil {
		return 0, fmt.Errorf("%s: join %s: %w", m.user, m.room, err)
	}
	var res joinResult
	if err := wait(ctx, m, m.selfCh, &res); err != nil {
		return 0, fmt.Errorf("%s: join %s: %w", m.user, m.room, err)
	}
	if res.err != nil {
		return 0, fmt.Errorf("%s: %w", m.user, res.err)
	}
	took := res.at.Sub(start)
	if m.history && !res.created {
		var done struct{}
		if err := wait(ctx, m, m.subjCh, &done); err != nil {
			return 0, fmt.Errorf("%s: join %s: the subject that ends a join: %w", m.user, m.room, err)
		}
		took = time.Since(start)
	}
	if !res.created {
		return took, nil
	}
	if err := m.c.Write([]byte(m.createForm())); err != nil {
		return 0, fmt.Errorf("%s: configure %s: %w", m.user, m.room, err)
	}
	var err error
	if werr := wait(ctx, m, m.iqCh, &err); werr != nil {
		return 0, fmt.Errorf("%s: configure %s: %w", m.user, m.room, werr)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", m.user, err)
	}
	return took, nil
}

// post sends n groupchat messages to the member's room and waits for the
// echo of the last: the room (and any archive behind it) has them all.
func (m *member) post(ctx context.Context, n int) error {
	for i := range n {
		id := m.user + "-fill-" + strconv.Itoa(i)
		if i == n-1 {
			m.echoWant.Store(&id)
		}
		msg := "<message to='" + escAttr(m.room) + "' type='groupchat' id='" + escAttr(id) + "'><body>message " +
			strconv.Itoa(i) + " of " + strconv.Itoa(n) + ", as history for those who join later</body></message>"
		if err := m.c.Write([]byte(msg)); err != nil {
			return fmt.Errorf("%s: post to %s: %w", m.user, m.room, err)
		}
	}
	if n <= 0 {
		return nil
	}
	var v struct{}
	if err := wait(ctx, m, m.echoCh, &v); err != nil {
		return fmt.Errorf("%s: the echo of the last of %d messages: %w", m.user, n, err)
	}
	return nil
}

// wait receives from ch into v, giving up after JoinTimeout, when ctx ends
// or when the connection does.
func wait[T any](ctx context.Context, m *member, ch <-chan T, v *T) error {
	t := time.NewTimer(JoinTimeout)
	defer t.Stop()
	select {
	case *v = <-ch:
		return nil
	case <-t.C:
		return fmt.Errorf("no answer within %v", JoinTimeout)
	case <-m.c.Done():
		if err := m.c.Err(); err != nil {
			return err
		}
		return errors.New("connection closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// joinAll joins the members: first, one member per room (in parallel
// across rooms) so that it creates the room, then all others, k at a
// time.
func joinAll(ctx context.Context, c *Common, what string, ms []*member) error {
	creators := map[string]bool{}
	var first, rest []*member
	for _, m := range ms {
		if !creators[m.room] {
			creators[m.room] = true
			first = append(first, m)
		} else {
			rest = append(rest, m)
		}
	}
	for gi, group := range [][]*member{first, rest} {
		label := what + ": rooms created"
		if gi == 1 {
			label = what + ": others joined"
		}
		for _, m := range group {
			m.persistent = c.Persistent
		}
		err := parallel(ctx, c, label, len(group), c.LoginConcurrency, func(ctx context.Context, i int) error {
			_, err := group[i].join(ctx)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
