package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"chorus/stanza"
)

// NullConfig configures the null component.
type NullConfig struct {
	Server string // the server's component listener; default 127.0.0.1:5347
	Domain string // the component's domain; default conference.localhost
	Secret string
	Log    io.Writer // connection events; nil discards them
	// IDs adds to each fanned-out message what a MUC service with stable
	// ids carries: a XEP-0359 stanza-id (unique per message, 16
	// characters) and a XEP-0421 occupant-id (per sender, 22 characters).
	// The server then parses as much per delivery as from a full-featured
	// service, which separates the cost of those elements from the cost of
	// the service.
	IDs bool
	// Presence makes joins cost what a full service's cost in stanzas:
	// each join's presence goes to the room's occupants, and the joiner
	// gets one presence per occupant, then its self-presence, then an
	// empty subject (XEP-0045 §7.2.3, §7.2.15), each from bytes encoded
	// once per occupant with only the addressee spliced in. Leaving is
	// broadcast too. With IDs each presence carries the occupant's
	// occupant-id (XEP-0421). Without it only the joiner hears of a join,
	// and no subject.
	Presence bool
}

// RunNull connects the null component and serves until ctx ends (then it
// returns nil) or the connection does.
//
// The null component is the least a MUC service can do: it answers a join
// with a self-presence to the joiner only (status 110, and 201 when the
// join created the room), keeps each room's occupants (nick and full JID),
// forgets them on unavailable presence, accepts any owner form, answers
// disco#info, and sends each groupchat message with a body to every
// occupant, built from bytes encoded once per message. There is no
// presence broadcast (unless NullConfig.Presence), history, subject, or
// permission check. What it achieves on a server is the ceiling for any
// external component there.
func RunNull(ctx context.Context, cfg NullConfig) error {
	if cfg.Server == "" {
		cfg.Server = "127.0.0.1:5347"
	}
	if cfg.Domain == "" {
		cfg.Domain = "conference.localhost"
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", cfg.Server)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	defer stop()

	n := &nullComp{
		domain: cfg.Domain,
		w:      bufio.NewWriterSize(nc, 64<<10),
		sc:     NewScanner(nc, 64<<10, maxStanza),
		rooms:  map[string]*nullRoom{},
		ids:    cfg.IDs,
		pres:   cfg.Presence,
	}
	err = n.handshake(cfg.Secret)
	if err == nil {
		fmt.Fprintf(cfg.Log, "null: serving %s through %s\n", cfg.Domain, cfg.Server)
		err = n.serve()
	}
	if ctx.Err() != nil {
		fmt.Fprintf(cfg.Log, "null: stopped after %d stanzas in, %d out\n", n.in, n.out)
		return nil
	}
	return err
}

type nullComp struct {
	domain  string
	w       *bufio.Writer
	sc      *Scanner
	rooms   map[string]*nullRoom
	prefix  []byte // scratch: the start of a fanned-out message or reply
	scratch []byte
	in      int64
	out     int64
	ids     bool   // NullConfig.IDs
	pres    bool   // NullConfig.Presence
	suffix  []byte // scratch: what follows the body
}

type nullRoom struct {
	jid    string
	occ    []nullOcc
	byNick map[string]int // index in occ
	byJID  map[string]int
	joins  int // occupant-ids handed out
}

type nullOcc struct {
	nick, jid string
	to        []byte // " to='<jid>'>", what differs per recipient
	owner     bool
	// With NullConfig.Presence, the occupant's presence as others see
	// it: head is "<presence from='<room>/<nick>'" and tail what follows
	// the addressee; encoded once at the join.
	head, tail []byte
	oid        int // its occupant-id, with IDs
}

// handshake opens the component stream (XEP-0114) and authenticates.
func (n *nullComp) handshake(secret string) error {
	hdr := "<stream:stream xmlns='" + stanza.NSComponent + "' xmlns:stream='" + stanza.NSStream + "' to='" + escAttr(n.domain) + "'>"
	if _, err := n.w.WriteString(hdr); err != nil {
		return err
	}
	if err := n.w.Flush(); err != nil {
		return err
	}
	h, err := n.sc.Header()
	if err != nil {
		return fmt.Errorf("stream header: %w", err)
	}
	if string(Name(h)) != "stream:stream" {
		return fmt.Errorf("expected a stream header, got %s", clip(h))
	}
	id, ok := Attr(h, "id")
	if !ok {
		// The server may send an error right after its header.
		st, err := n.sc.Next()
		if err == nil {
			return fmt.Errorf("no stream id; the server said %s", clip(st))
		}
		return errors.New("the server's stream header has no id")
	}
	sum := sha1.Sum([]byte(string(id) + secret))
	if _, err := n.w.WriteString("<handshake>" + hex.EncodeToString(sum[:]) + "</handshake>"); err != nil {
		return err
	}
	if err := n.w.Flush(); err != nil {
		return err
	}
	st, err := n.sc.Next()
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if string(Name(st)) != "handshake" {
		return fmt.Errorf("handshake refused: %s", clip(st))
	}
	return nil
}

func (n *nullComp) serve() error {
	// One write per batch of input: flush whenever the scanner is about
	// to wait for more.
	n.sc.BeforeRead = n.w.Flush
	for {
		st, err := n.sc.Next()
		if err != nil {
			return err
		}
		n.in++
		to, _ := Attr(st, "to")
		from, _ := Attr(st, "from")
		typ, _ := Attr(st, "type")
		bare, nick := to, []byte(nil)
		if i := bytes.IndexByte(to, '/'); i >= 0 {
			bare, nick = to[:i], to[i+1:]
		}
		switch string(Name(st)) {
		case "presence":
			n.presence(st, from, to, bare, nick, typ)
		case "message":
			n.message(st, from, to, bare, nick, typ)
		case "iq":
			n.iq(st, from, to, bare, nick, typ)
		case "stream:error":
			return fmt.Errorf("stream error: %s", clip(st))
		}
	}
}

func (n *nullComp) presence(st, from, to, bare, nick, typ []byte) {
	switch string(typ) {
	case "":
		if len(nick) == 0 {
			n.stanzaError("presence", to, from, st, "modify", "jid-malformed")
			return
		}
		room := n.rooms[string(bare)]
		created := room == nil
		if created {
			room = &nullRoom{jid: string(bare), byNick: map[string]int{}, byJID: map[string]int{}}
			n.rooms[room.jid] = room
		}
		if i, ok := room.byNick[string(nick)]; ok {
			if room.occ[i].jid != string(from) {
				n.stanzaError("presence", to, from, st, "cancel", "conflict")
				return
			}
			n.selfPresence(room, i, nil, false) // a presence update
			return
		}
		if i, ok := room.byJID[string(from)]; ok {
			room.remove(i) // a nick change, done as leave and join
		}
		room.add(nullOcc{nick: string(nick), jid: string(from), owner: created})
		if n.pres {
			n.broadcastJoin(room, len(room.occ)-1)
		}
		n.selfPresence(room, len(room.occ)-1, nil, created)
		if n.pres {
			n.w.WriteString("<message type='groupchat' from=")
			n.w.Write(appendQuoted(n.prefix[:0], []byte(room.jid)))
			n.w.Write(room.occ[len(room.occ)-1].to)
			n.w.WriteString("<subject/></message>")
			n.out++
		}
	case "unavailable":
		room := n.rooms[string(bare)]
		if room == nil {
			return
		}
		i, ok := room.byNick[string(nick)]
		if !ok || room.occ[i].jid != string(from) {
			return
		}
		n.selfPresence(room, i, []byte("unavailable"), false)
		if n.pres {
			n.broadcastLeave(room, i)
		}
		n.leave(room, i)
	case "error":
		n.dropGhost(bare, from)
	}
}

// dropGhost removes an occupant whose server answered with an error: its
// client is gone.
func (n *nullComp) dropGhost(bare, from []byte) {
	if room := n.rooms[string(bare)]; room != nil {
		if i, ok := room.byJID[string(from)]; ok {
			n.leave(room, i)
		}
	}
}

func (n *nullComp) leave(room *nullRoom, i int) {
	room.remove(i)
	if len(room.occ) == 0 {
		delete(n.rooms, room.jid)
	}
}

func (r *nullRoom) add(o nullOcc) {
	var b []byte
	b = append(b, " to="...)
	b = appendQuoted(b, []byte(o.jid))
	o.to = append(b, '>')
	r.byNick[o.nick] = len(r.occ)
	r.byJID[o.jid] = len(r.occ)
	r.occ = append(r.occ, o)
}

func (r *nullRoom) remove(i int) {
	o := r.occ[i]
	delete(r.byNick, o.nick)
	delete(r.byJID, o.jid)
	last := len(r.occ) - 1
	if i != last {
		r.occ[i] = r.occ[last]
		r.byNick[r.occ[i].nick] = i
		r.byJID[r.occ[i].jid] = i
	}
	r.occ[last] = nullOcc{}
	r.occ = r.occ[:last]
}

// broadcastJoin encodes the presence of occupant j once, sends it to
// every other occupant, and sends j the presence of each of them.
func (n *nullComp) broadcastJoin(room *nullRoom, j int) {
	o := &room.occ[j]
	o.head = append(append([]byte(nil), "<presence from="...), appendQuoted(n.prefix[:0], []byte(room.jid+"/"+o.nick))...)
	tail := []byte("<x xmlns='" + stanza.NSMUCUser + "'>")
	if o.owner {
		tail = append(tail, "<item affiliation='owner' role='moderator'/>"...)
	} else {
		tail = append(tail, "<item affiliation='none' role='participant'/>"...)
	}
	tail = append(tail, "</x>"...)
	if n.ids {
		room.joins++
		o.oid = room.joins
		tail = fmt.Appendf(tail, "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='%022d'/>", o.oid)
	}
	o.tail = append(tail, "</presence>"...)
	for i := range room.occ {
		if i == j {
			continue
		}
		p := &room.occ[i]
		n.w.Write(o.head)
		n.w.Write(p.to)
		n.w.Write(o.tail)
		n.w.Write(p.head)
		n.w.Write(o.to)
		n.w.Write(p.tail)
	}
	n.out += 2 * int64(len(room.occ)-1)
}

// broadcastLeave tells the other occupants that occupant j left.
func (n *nullComp) broadcastLeave(room *nullRoom, j int) {
	o := &room.occ[j]
	head := append(append(n.scratch[:0], "<presence type='unavailable' from="...), appendQuoted(n.prefix[:0], []byte(room.jid+"/"+o.nick))...)
	n.scratch = head
	const tail = "<x xmlns='" + stanza.NSMUCUser + "'><item affiliation='none' role='none'/></x></presence>"
	for i := range room.occ {
		if i == j {
			continue
		}
		n.w.Write(head)
		n.w.Write(room.occ[i].to)
		n.w.WriteString(tail)
	}
	n.out += int64(len(room.occ) - 1)
}

func (n *nullComp) selfPresence(room *nullRoom, i int, typ []byte, created bool) {
	o := &room.occ[i]
	w := n.w
	w.WriteString("<presence")
	if typ != nil {
		w.WriteString(" type=")
		w.Write(appendQuoted(n.prefix[:0], typ))
	}
	w.WriteString(" from=")
	n.prefix = appendQuoted(n.prefix[:0], []byte(room.jid+"/"+o.nick))
	w.Write(n.prefix)
	w.Write(o.to)
	w.WriteString("<x xmlns='" + stanza.NSMUCUser + "'>")
	switch {
	case typ != nil:
		w.WriteString("<item affiliation='none' role='none'/>")
	case o.owner:
		w.WriteString("<item affiliation='owner' role='moderator'/>")
	default:
		w.WriteString("<item affiliation='none' role='participant'/>")
	}
	w.WriteString("<status code='110'/>")
	if created {
		w.WriteString("<status code='201'/>")
	}
	w.WriteString("</x>")
	if typ == nil && o.oid != 0 {
		// The joiner's own occupant-id, as the others got it.
		n.scratch = fmt.Appendf(n.scratch[:0], "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='%022d'/>", o.oid)
		w.Write(n.scratch)
	}
	w.WriteString("</presence>")
	n.out++
}

func (n *nullComp) message(st, from, to, bare, nick, typ []byte) {
	switch string(typ) {
	case "groupchat":
	case "error":
		n.dropGhost(bare, from)
		return
	default:
		n.stanzaError("message", to, from, st, "cancel", "feature-not-implemented")
		return
	}
	room := n.rooms[string(bare)]
	if room == nil || len(nick) != 0 {
		n.stanzaError("message", to, from, st, "cancel", "item-not-found")
		return
	}
	si, ok := room.byJID[string(from)]
	if !ok {
		n.stanzaError("message", to, from, st, "modify", "not-acceptable")
		return
	}
	body, ok := Child(st, "body")
	if !ok {
		return
	}
	// Encoded once per message: everything before the recipient, and the
	// body as received (it is escaped already).
	n.scratch = append(append(append(n.scratch[:0], bare...), '/'), room.occ[si].nick...)
	p := append(n.prefix[:0], "<message type='groupchat' from="...)
	p = appendQuoted(p, n.scratch)
	if id, ok := Attr(st, "id"); ok {
		p = append(p, " id="...)
		p = appendQuoted(p, id)
	}
	n.prefix = p
	sfx := n.suffix[:0]
	if n.ids {
		// Fixed-width ids: a counter for the stanza, the sender's index for
		// the occupant.
		sfx = fmt.Appendf(sfx, "<stanza-id xmlns='urn:xmpp:sid:0' id='%016d' by=", n.out)
		sfx = appendQuoted(sfx, bare)
		sfx = fmt.Appendf(sfx, "/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='%022d'/>", si)
	}
	sfx = append(sfx, "</message>"...)
	n.suffix = sfx
	for i := range room.occ {
		n.w.Write(p)
		n.w.Write(room.occ[i].to)
		n.w.Write(body)
		n.w.Write(sfx)
	}
	n.out += int64(len(room.occ))
}

func (n *nullComp) iq(st, from, to, bare, nick, typ []byte) {
	if string(typ) != "get" && string(typ) != "set" {
		return
	}
	q, _ := Child(st, "query")
	ns, _ := Attr(q, "xmlns")
	isRoom := bytes.IndexByte(bare, '@') >= 0
	var payload string
	switch {
	case len(nick) != 0:
		n.stanzaError("iq", to, from, st, "cancel", "service-unavailable")
		return
	case string(ns) == stanza.NSDiscoInfo && string(typ) == "get":
		payload = "<query xmlns='" + stanza.NSDiscoInfo + "'><identity category='conference' type='text' name='null'/>" +
			"<feature var='" + stanza.NSMUC + "'/><feature var='" + stanza.NSDiscoInfo + "'/></query>"
	case string(ns) == stanza.NSDiscoItems && string(typ) == "get":
		payload = "<query xmlns='" + stanza.NSDiscoItems + "'/>"
	case string(ns) == stanza.NSMUCOwner && isRoom:
		// Any form is accepted and the configuration form is empty.
	default:
		n.stanzaError("iq", to, from, st, "cancel", "service-unavailable")
		return
	}
	n.reply("iq", "result", to, from, st)
	n.w.WriteString(payload + "</iq>")
	n.out++
}

// reply writes the start tag of an answer to st, addressed back to its
// sender.
func (n *nullComp) reply(name, typ string, from, to, st []byte) {
	w := n.w
	w.WriteString("<" + name + " type='" + typ + "' from=")
	n.prefix = appendQuoted(n.prefix[:0], from)
	n.prefix = append(n.prefix, " to="...)
	n.prefix = appendQuoted(n.prefix, to)
	if id, ok := Attr(st, "id"); ok {
		n.prefix = append(n.prefix, " id="...)
		n.prefix = appendQuoted(n.prefix, id)
	}
	w.Write(n.prefix)
	w.WriteByte('>')
}

// stanzaError answers st with an error of condition cond.
func (n *nullComp) stanzaError(name string, from, to, st []byte, errType, cond string) {
	if len(to) == 0 || len(from) == 0 {
		return
	}
	n.reply(name, "error", from, to, st)
	n.w.WriteString("<error type='" + errType + "'><" + cond + " xmlns='" + stanza.NSStanzas + "'/></error></" + name + ">")
	n.out++
}

// appendQuoted appends v, a raw (already escaped) attribute value, in
// quotes that it cannot contain: a value that was in double quotes may hold
// a single quote.
func appendQuoted(dst, v []byte) []byte {
	q := byte('\'')
	if bytes.IndexByte(v, '\'') >= 0 {
		q = '"'
	}
	dst = append(dst, q)
	dst = append(dst, v...)
	return append(dst, q)
}
