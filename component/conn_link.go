package component

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/stream"

	"chorus/room"
	"chorus/stanza"
)

// queueLen bounds the batches waiting for the writer; when it is full the
// reader stops reading, which pushes back on the server instead of growing
// memory.
const queueLen = 64

// roomQueueLen bounds the stanzas waiting for one room (or the service).
// When it is full the reader waits for the room, which pushes back on the
// server as a flood into one busy room must (nothing is lost); but a room
// that has been in one handler call for stuckAfter is waiting on I/O, not
// busy, and its new stanzas are refused with wait/resource-constraint, so
// that it holds up neither the reader nor, with it, every other room.
const roomQueueLen = 64

// stuckAfter is how long one handler call may take before its room counts
// as stuck: fan-out to a thousand occupants takes well under a
// millisecond, a store that answers not at all takes storeTimeout.
const stuckAfter = 250 * time.Millisecond

// maxQueued bounds the stanzas waiting for all rooms together, for a flood
// spread over many rooms.
const maxQueued = 64 << 10

// shutdownTimeout bounds writing the shutdown stanzas to a server that does
// not take them.
const shutdownTimeout = 5 * time.Second

// link is one authenticated connection: a reader that feeds the handler and
// a writer that owns the socket's write side.
type link struct {
	r      *runner
	nc     net.Conn
	tr     xml.TokenReader
	limits stanza.Limits
	domain string

	out        chan batch
	writerDone chan struct{}
	werr       error // set by the writer before writerDone is closed

	// Inbound stanzas wait in a mailbox per room (by bare address, so a
	// room and its occupants share one), drained by a goroutine that
	// runs while the mailbox is not empty: rooms run in parallel, one
	// room waiting for its store holds up no other, and each room's
	// stanzas stay in the order they were read. bmu guards boxes and
	// queued.
	bmu     sync.Mutex
	boxes   map[string]*mailbox
	queued  int
	workers sync.WaitGroup

	// hmu serialises handing stanzas to the mailboxes with the end of the
	// link, so that Shutdown runs only after every queued stanza is
	// handled and nothing is queued after out is closed.
	hmu     sync.Mutex
	closing bool

	resync bool // ask the handler to resynchronise once the link is up

	meter *meteredConn // nil in tests that build links by hand
	addr  []byte       // the writer's scratch space for one address
	// streamErr, when set before out is closed, is the stream error
	// condition the writer sends before closing the stream.
	streamErr string

	mc *multicast // nil unless Config.Multicast
}

// mailbox is one room's queue of inbound work; a goroutine drains it
// while it is not empty, then it is dropped.
type mailbox struct {
	q    []inbound
	held int           // taken from q but waiting for a change to the room (work)
	more chan struct{} // signalled when q grows, for a goroutine waiting on a change
	// freed is signalled when q shrinks, for a reader waiting for room.
	freed chan struct{}
	// Since when (Unix nanoseconds) the room's change and its read have
	// been in the handler; zero when not.
	changeSince, readSince atomic.Int64
}

// stuck reports whether the room has been in one handler call for
// stuckAfter.
func (b *mailbox) stuck(now time.Time) bool {
	old := func(t int64) bool { return t != 0 && now.UnixNano()-t >= int64(stuckAfter) }
	return old(b.changeSince.Load()) || old(b.readSince.Load())
}

// inflight is the change a mailbox's goroutine runs beside its queue: while
// it waits (for the store), later stanzas that only read the room, from
// other senders, are handled; anything else waits for it first.
type inflight struct {
	done chan struct{}
	from string
}

// inbound is a stanza waiting for its room's turn, and when it was read;
// or, with st nil, a room whose timed work is due (Timed).
type inbound struct {
	st    *stanza.Element
	to    room.Address // st's 'to', parsed once by dispatch
	read  time.Time
	timer string
	// change: st may change its room (not Reader.ReadOnly), or timed work.
	change bool
}

// batch is the output of one inbound stanza and when that stanza was read
// (zero for output no read caused, and without metrics).
type batch struct {
	outs []room.Out
	read time.Time
}

func newLink(r *runner, nc net.Conn, tr xml.TokenReader) *link {
	l := &link{
		boxes:      map[string]*mailbox{},
		r:          r,
		nc:         nc,
		tr:         tr,
		limits:     stanza.Limits{MaxBytes: r.cfg.MaxStanzaBytes, MaxDepth: stanza.DefaultLimits.MaxDepth, MaxAttrs: stanza.DefaultLimits.MaxAttrs},
		domain:     r.domain.String(),
		out:        make(chan batch, queueLen),
		writerDone: make(chan struct{}),
	}
	if r.cfg.Multicast {
		l.mc = newMulticast(l)
	}
	return l
}

// serve runs the link until it fails or ctx is cancelled, and returns why it
// ended. The socket is closed when serve returns.
func (l *link) serve(ctx context.Context) error {
	defer l.nc.Close()
	go l.writeLoop()
	defer l.mc.end()
	if l.mc != nil {
		// Each link discovers anew: the server may have changed while
		// the link was down.
		l.hmu.Lock()
		l.enqueue(l.mc.start(), time.Time{})
		l.hmu.Unlock()
	}
	if rs, ok := l.r.h.(Resyncer); ok && l.resync {
		l.hmu.Lock()
		if outs := rs.Reconnected(); len(outs) > 0 {
			l.enqueue(outs, time.Time{})
		}
		l.hmu.Unlock()
	}
	if lu, ok := l.r.h.(LinkUpper); ok {
		l.hmu.Lock()
		if outs := lu.LinkUp(); len(outs) > 0 {
			l.enqueue(outs, time.Time{})
		}
		l.hmu.Unlock()
	}
	if t, ok := l.r.h.(Timed); ok {
		go l.timerLoop(t)
	}
	readErr := make(chan error, 1)
	go func() {
		readErr <- l.readLoop()
	}()

	select {
	case err := <-readErr:
		cond := ""
		switch {
		case errors.Is(err, errStanzaTooLarge):
			// Far more bytes than any stanza needs and no end in sight:
			// the link as a whole is hostile or broken (stanzas over a
			// limit are refused one by one in readLoop). RFC 6120
			// §4.9.3.12: the stream ends with policy-violation; the
			// runner reconnects.
			cond = "policy-violation"
		case errors.Is(err, errRestrictedXML), errors.Is(err, stanza.ErrRestricted):
			cond = "restricted-xml" // RFC 6120 §4.9.3.18: no DTDs, PIs
		}
		if cond != "" {
			l.r.log.Warn().Err(err).Str("condition", cond).Msg("inbound XML refused: closing the stream with a stream error")
			l.hmu.Lock()
			l.streamErr = cond
			l.hmu.Unlock()
		}
		// Answer the server's close (or the broken socket) with ours; the
		// timer keeps a peer that takes no more data from holding us up.
		l.stop(nil)
		t := time.AfterFunc(closeWait, func() { l.nc.Close() })
		<-l.writerDone
		t.Stop()
		return err
	case <-l.writerDone:
		l.nc.Close()
		<-readErr
		if errors.Is(l.werr, os.ErrDeadlineExceeded) {
			// The send queue is bounded, so a server that stops reading
			// stalls us instead of growing memory; after writeTimeout we
			// give the link up and reconnect.
			return fmt.Errorf("the server stopped reading for %v, output blocked: %w", l.r.writeTimeout(), l.werr)
		}
		return fmt.Errorf("write: %w", l.werr)
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), ErrHalted) {
			// Another instance serves the rooms now: not a word more,
			// not even the end of the stream.
			l.r.log.Warn().Msg("component halted: link closed without a word")
			l.nc.Close()
			l.stop(nil)
			<-l.writerDone
			<-readErr
			return nil
		}
		l.r.log.Info().Msg("component shutting down")
		t := time.AfterFunc(shutdownTimeout, func() { l.nc.Close() })
		l.stop(l.shutdownStanzas)
		<-l.writerDone
		t.Stop()
		// Wait briefly for the server to close its side, so it sees an
		// orderly end rather than a reset.
		t = time.AfterFunc(closeWait, func() { l.nc.Close() })
		<-readErr
		t.Stop()
		return nil
	}
}

// stop ends the write side after queueing final's stanzas, if any.
func (l *link) stop(final func() []room.Out) {
	l.hmu.Lock()
	defer l.hmu.Unlock()
	if l.closing {
		return
	}
	l.closing = true
	l.workers.Wait() // every queued stanza handled

	if final != nil {
		if outs := final(); len(outs) > 0 {
			l.enqueue(outs, time.Time{})
		}
	}
	close(l.out)
}

func (l *link) shutdownStanzas() (outs []room.Out) {
	defer func() {
		if v := recover(); v != nil {
			l.r.log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).
				Msg("handler panic in Shutdown")
			outs = nil
		}
	}()
	return l.r.h.Shutdown()
}

// enqueue hands outs to the writer, or drops them when the writer is gone
// (the link is failing and the server will bounce the senders).
func (l *link) enqueue(outs []room.Out, read time.Time) {
	select {
	case l.out <- batch{outs, read}:
	case <-l.writerDone:
	}
}

// readLoop decodes one top-level element at a time and dispatches it. It
// returns the reason the stream ended.
func (l *link) readLoop() error {
	dr := &depthReader{r: l.tr}
	for {
		tok, err := dr.Token()
		if err != nil {
			return readError(err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			// Whitespace between stanzas (keepalives).
			continue
		}
		st, err := stanza.Decode(dr, start, l.limits)
		if stanza.OverLimit(err) {
			// The server accepted this stanza from one user: refusing it
			// must not cost every room its link. Skip the rest of it and
			// refuse it alone. Skipping holds only encoding/xml's record
			// per open element and one token at a time; a peer that sends
			// far more than any stanza needs is stopped by the meter.
			for dr.depth > 0 {
				if _, err := dr.Token(); err != nil {
					return readError(err)
				}
			}
			l.refuse(start, err)
			l.stanzaDone()
			continue
		}
		if err != nil {
			return readError(err)
		}
		l.stanzaDone()
		l.dispatch(st)
	}
}

func (l *link) stanzaDone() {
	if l.meter != nil {
		l.meter.stanzaDone()
	}
}

// dispatch hands st to its room's mailbox. When the mailbox is full the
// reader waits for a busy room (pushing back on the server), but a stuck
// room gets its new stanzas refused instead of holding up the reader and
// every other room (see roomQueueLen).
func (l *link) dispatch(st *stanza.Element) {
	read := l.r.cfg.Metrics.received(st.Local)
	l.r.trim.touch(time.Now())
	// The one parse of 'to': it picks the mailbox and goes on to the handler.
	key := st.Attr("to")
	to, ok := room.ParseAddress(key)
	if ok {
		key = to.Bare()
	}
	l.hmu.Lock()
	defer l.hmu.Unlock()
	if l.closing {
		return
	}
	if e := l.r.log.Debug(); e.Enabled() {
		e.Str("stanza", st.String()).Msg("recv")
	}
	if l.mc.intercept(st) {
		return
	}
	in := inbound{st: st, to: to, read: read, change: true}
	if rd, ok := l.r.h.(Reader); ok {
		in.change = !l.readOnly(rd, to, st)
	}
	if !l.postWaiting(key, in) {
		// Debug, not warn: any user can fill a room's queue; the error
		// metric counts the refusals.
		l.r.log.Debug().Str("stanza", st.Local).Str("to", clip(st.Attr("to"))).Msg("room queue full: stanza refused")
		if outs := errorReply(st, stanza.Error{Type: stanza.Wait, Condition: stanza.ResourceConstraint, Text: "The room is busy; try again later"}, l.domain); len(outs) > 0 {
			l.enqueue(outs, read)
		}
	}
}

// postWaiting queues in for the room at key, waiting while the room's
// queue is full and the room is busy; it reports false, refusing in, when
// the room is stuck (see roomQueueLen) or every room's queues together are
// full. It runs under hmu, while the link is not closing.
func (l *link) postWaiting(key string, in inbound) bool {
	for {
		ok, b, full := l.post(key, in, false)
		if ok || !full {
			return ok
		}
		if b.stuck(time.Now()) {
			return false
		}
		t := time.NewTimer(stuckAfter)
		select {
		case <-b.freed:
		case <-t.C: // look again: stuck by now?
		case <-l.writerDone:
			t.Stop()
			return false
		}
		t.Stop()
	}
}

// post queues in for the room at key, starting the room's goroutine when
// it has none. It reports false when the room's queue is full (full set,
// with the room's mailbox) or every room's queues together are, unless
// force: timed work is the room's own and never refused. It runs under
// hmu, while the link is not closing.
func (l *link) post(key string, in inbound, force bool) (ok bool, b *mailbox, full bool) {
	l.bmu.Lock()
	defer l.bmu.Unlock()
	b = l.boxes[key]
	if b == nil {
		b = &mailbox{more: make(chan struct{}, 1), freed: make(chan struct{}, 1)}
		l.boxes[key] = b
		l.workers.Add(1)
		go l.work(key, b)
	}
	if !force && len(b.q)+b.held >= roomQueueLen {
		return false, b, true
	}
	if !force && l.queued >= maxQueued {
		return false, b, false
	}
	b.q = append(b.q, in)
	l.queued++
	select {
	case b.more <- struct{}{}:
	default:
	}
	return true, b, false
}

// timerLoop hands the rooms whose timed work is due to their mailboxes
// until the link ends. Work due while no link is up waits for the next.
func (l *link) timerLoop(t Timed) {
	tick := time.NewTicker(timerTick)
	defer tick.Stop()
	for {
		select {
		case <-l.writerDone:
			return
		case now := <-tick.C:
			for _, addr := range t.Due(now) {
				l.hmu.Lock()
				if !l.closing {
					l.post(addr, inbound{timer: addr, change: true}, true)
				}
				l.hmu.Unlock()
			}
		}
	}
}

// work handles one room's mailbox in order until it is empty, then drops
// it; the next stanza for the room starts a new one. A change runs in a
// goroutine of its own, so that while it waits for the store the room's
// later reads are answered, unless they come from a sender with a change
// pending: those, and further changes, are held, in order, until the
// change is done. So each sender's stanzas and the room's changes keep
// their order, and a read may only pass another sender's change.
func (l *link) work(key string, b *mailbox) {
	defer l.workers.Done()
	var busy *inflight
	var held []inbound
	heldFrom := map[string]int{} // senders with held stanzas
	for {
		if busy != nil {
			select {
			case <-busy.done:
				busy = nil
			default:
			}
		}
		var in inbound
		if busy == nil && len(held) > 0 {
			in = held[0]
			held[0] = inbound{}
			held = held[1:]
			if from := in.from(); heldFrom[from] <= 1 {
				delete(heldFrom, from)
			} else {
				heldFrom[from]--
			}
			l.bmu.Lock()
			b.held--
			l.queued--
			b.signalFreed()
			l.bmu.Unlock()
		} else {
			l.bmu.Lock()
			if len(b.q) == 0 {
				if busy == nil { // and nothing held
					delete(l.boxes, key)
					l.bmu.Unlock()
					return
				}
				l.bmu.Unlock()
				select {
				case <-busy.done:
					busy = nil
				case <-b.more:
				}
				continue
			}
			in = b.q[0]
			b.q[0] = inbound{}
			b.q = b.q[1:]
			wait := busy != nil && (in.change || in.from() == busy.from || heldFrom[in.from()] > 0)
			if wait {
				b.held++
			} else {
				l.queued--
				b.signalFreed()
			}
			l.bmu.Unlock()
			if wait {
				held = append(held, in)
				heldFrom[in.from()]++
				continue
			}
		}
		if !in.change {
			l.run(in, &b.readSince)
			continue
		}
		busy = &inflight{done: make(chan struct{}), from: in.from()}
		go func(in inbound, done chan struct{}) {
			defer close(done)
			l.run(in, &b.changeSince)
		}(in, busy.done)
	}
}

// signalFreed tells a reader waiting for room in b that there is; under
// bmu.
func (b *mailbox) signalFreed() {
	select {
	case b.freed <- struct{}{}:
	default:
	}
}

// from is the sender of in, empty for timed work.
func (in *inbound) from() string {
	if in.st == nil {
		return ""
	}
	return in.st.Attr("from")
}

// run handles one stanza or timed work and queues what it sends. since,
// the mailbox's changeSince or readSince, says meanwhile that the room is
// in the handler.
func (l *link) run(in inbound, since *atomic.Int64) {
	since.Store(time.Now().UnixNano())
	var outs []room.Out
	if in.st == nil {
		outs = l.fire(in.timer)
	} else {
		outs = l.handle(in.st, in.to)
	}
	since.Store(0)
	if len(outs) > 0 {
		l.enqueue(outs, in.read)
	}
}

// readOnly asks the handler whether st only reads its room; a panic
// counts as "no", and the stanza's own handling reports it.
func (l *link) readOnly(rd Reader, to room.Address, st *stanza.Element) (ro bool) {
	defer func() {
		if recover() != nil {
			ro = false
		}
	}()
	return rd.ReadOnly(to, st)
}

// fire runs a room's due work, recovering a panic as handle does.
func (l *link) fire(addr string) (outs []room.Out) {
	defer func() {
		if v := recover(); v != nil {
			l.r.log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).
				Str("room", addr).Msg("handler panic in timed work")
			outs = nil
		}
	}()
	return l.r.h.(Timed).Fire(addr)
}

// handle calls the handler, turning a panic into an internal-server-error
// reply so that one bad stanza does not take the service down (as net/http
// recovers per request).
func (l *link) handle(st *stanza.Element, to room.Address) (outs []room.Out) {
	defer func() {
		if v := recover(); v != nil {
			l.r.log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).
				Str("stanza", st.Local).Str("from", st.Attr("from")).Str("to", st.Attr("to")).
				Str("id", st.Attr("id")).Msg("handler panic")
			outs = errorReply(st, stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError}, l.domain)
		}
	}()
	return l.r.h.HandleAt(to, st)
}

// refuse answers a stanza that exceeded the decoding limits, using only its
// start element: modify/policy-violation (RFC 6120 §8.3.3.12) with a text
// saying which limit, or nothing where no error may be sent.
func (l *link) refuse(start xml.StartElement, why error) {
	stub := &stanza.Element{Space: stanza.NSClient, Local: start.Name.Local}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space != "":
		case a.Name.Local == "from", a.Name.Local == "to", a.Name.Local == "id", a.Name.Local == "type":
			stub.Attrs = append(stub.Attrs, stanza.Attr{Local: a.Name.Local, Value: a.Value})
		}
	}
	text := l.limitText(why)
	// Debug, not warn: any user can cause this line, so it must not be a
	// way to flood the operator's log; chorus_stanza_errors_total
	// {condition="policy-violation"} counts the refusals.
	l.r.log.Debug().Str("stanza", stub.Local).Str("from", clip(stub.Attr("from"))).Str("to", clip(stub.Attr("to"))).
		Str("reason", text).Msg("inbound stanza refused")
	read := l.r.cfg.Metrics.received(stub.Local)
	// The id is echoed as RFC 6120 §8.3.1 asks, but not an absurd one: an
	// error reply that outgrows the server's own stanza limit would cost
	// the link after all.
	if len(stub.Attr("id")) > maxEchoID {
		return
	}
	l.hmu.Lock()
	defer l.hmu.Unlock()
	if l.closing {
		return
	}
	if outs := errorReply(stub, stanza.Error{Type: stanza.Modify, Condition: stanza.PolicyViolation, Text: text}, l.domain); len(outs) > 0 {
		l.enqueue(outs, read)
	}
}

// maxEchoID bounds the id a refused stanza may carry and still be answered.
const maxEchoID = 1024

// limitText says which of the link's limits why is.
func (l *link) limitText(why error) string {
	lim := l.limits
	switch {
	case errors.Is(why, stanza.ErrTooDeep):
		return fmt.Sprintf("Stanza nested too deeply (more than %d levels)", orDefault(lim.MaxDepth, stanza.DefaultLimits.MaxDepth))
	case errors.Is(why, stanza.ErrTooManyAttrs):
		return fmt.Sprintf("Element with too many attributes (more than %d)", orDefault(lim.MaxAttrs, stanza.DefaultLimits.MaxAttrs))
	default:
		return fmt.Sprintf("Stanza too large (more than %d bytes)", orDefault(lim.MaxBytes, stanza.DefaultLimits.MaxBytes))
	}
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// clip shortens an attribute for a log line.
func clip(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}

// errorReply answers st with e (RFC 6120 §8.3), or nil when st must not
// be answered: errors and results never get error replies, and a stanza
// without sender has nobody to reply to. The reply comes from st's
// recipient when that is a valid address in our domain, else from the
// domain itself.
func errorReply(st *stanza.Element, e stanza.Error, domain string) []room.Out {
	switch st.Local {
	case "iq", "message", "presence":
	default:
		return nil
	}
	switch st.Attr("type") {
	case "error", "result":
		return nil
	}
	to := st.Attr("from")
	if to == "" {
		return nil
	}
	from := domain
	// Parsed here, not passed down: a refused stanza was never dispatched,
	// and a handler that failed may have readdressed st to where a reply
	// can come from.
	if a, ok := room.ParseAddress(st.Attr("to")); ok && inDomain(a.String(), domain) {
		from = a.String()
	}
	return []room.Out{room.To1(to, e.ReplyFrom(st, from))}
}

// writeLoop owns the write side of the socket. It drains whatever batches
// are queued, flushes once, and when out is closed ends the stream.
func (l *link) writeLoop() {
	defer close(l.writerDone)
	bw := bufio.NewWriterSize(l.nc, 32<<10)
	var buf []byte
	var reads []time.Time // of the batches waiting for the next flush
	open := true
	for open {
		b, ok := <-l.out
		if !ok {
			break
		}
		l.nc.SetWriteDeadline(time.Now().Add(l.r.writeTimeout()))
		var err error
		if buf, err = l.writeBatch(bw, b.outs, buf); err != nil {
			// A failed write sticks in bw: stop here, or the loop would
			// race through the queue as fast as the reader refills it.
			l.werr = err
			return
		}
		reads = append(reads, b.read)
	drain:
		for {
			select {
			case b, ok = <-l.out:
				if !ok {
					open = false
					break drain
				}
				l.nc.SetWriteDeadline(time.Now().Add(l.r.writeTimeout()))
				if buf, err = l.writeBatch(bw, b.outs, buf); err != nil {
					l.werr = err
					return
				}
				reads = append(reads, b.read)
			default:
				break drain
			}
		}
		if err := bw.Flush(); err != nil {
			l.werr = err
			return
		}
		l.r.cfg.Metrics.flushed(reads)
		reads = reads[:0]
	}
	l.nc.SetWriteDeadline(time.Now().Add(closeWait))
	l.hmu.Lock()
	cond := l.streamErr
	l.hmu.Unlock()
	if cond != "" {
		bw.WriteString("<stream:error><" + cond + " xmlns='" + stanza.NSStreamErrors + "'/></stream:error>")
	}
	bw.WriteString("</stream:stream>")
	l.werr = bw.Flush()
}

// writeBatch encodes each stanza once per recipient. Write errors stick in
// bw and surface at Flush.
func (l *link) writeBatch(bw *bufio.Writer, batch []room.Out, buf []byte) ([]byte, error) {
	// Recipients of the batch's IQs, read once the first multicast asks.
	var iqTo map[string]bool
	iqRead := false
	now := time.Now()
	for _, o := range batch {
		if o.Stanza == nil {
			continue
		}
		// Prosody closes the whole stream with invalid-from for one
		// stanza from outside our domain; dropping it keeps every room up.
		if from := o.Stanza.Attr("from"); !inDomain(from, l.domain) {
			l.r.log.Error().Str("stanza", o.Stanza.Local).Str("from", from).Strs("to", o.To).
				Msg("dropped outbound stanza: from is not in the component's domain")
			continue
		}
		// Encoded once; only the address differs between recipients.
		var cut int
		buf, cut = o.Stanza.AppendShared(buf[:0])
		head, tail := buf[:cut], buf[cut:]
		if len(buf) > maxOutStanzaBytes-maxAddrBytes {
			// The server ends the whole link over one stanza beyond its
			// limit for components; a user can make one by putting quotes
			// or '>' in a payload we re-escape (up to six times larger).
			l.r.log.Warn().Str("stanza", o.Stanza.Local).Str("from", o.Stanza.Attr("from")).Int("bytes", len(buf)).
				Int("recipients", len(o.To)).Msg("dropped outbound stanza: larger than the server takes from a component")
			continue
		}
		direct := o.To
		if svc := l.mc.active(); svc != nil && l.mc.multicastable(o, svc, now) {
			if !iqRead {
				iqTo, iqRead = iqRecipients(batch), true
			}
			mc, alone := splitByIQ(o, iqTo)
			if len(mc.To) > 0 {
				var done bool
				var err error
				if buf, done, err = l.writeMulticast(bw, mc, svc, buf); err != nil {
					return buf, err
				}
				if done {
					direct = alone
				} // else too large with its addresses: one per recipient
				if len(direct) == 0 {
					continue
				}
				// writeMulticast wrote over the encoding.
				buf, cut = o.Stanza.AppendShared(buf[:0])
				head, tail = buf[:cut], buf[cut:]
			}
		}
		n := 0
		for _, to := range direct {
			if to == "" {
				// The server would answer bad-request to a stanza without to.
				l.r.log.Error().Str("stanza", o.Stanza.Local).Str("from", o.Stanza.Attr("from")).
					Msg("dropped outbound stanza: empty recipient")
				continue
			}
			addr := stanza.AppendTo(l.addr[:0], to)
			l.addr = addr
			if e := l.r.log.Debug(); e.Enabled() {
				e.Str("stanza", string(head)+string(addr)+string(tail)).Msg("send")
			}
			bw.Write(head)
			bw.Write(addr)
			if _, err := bw.Write(tail); err != nil {
				return buf, err
			}
			n++
		}
		l.r.cfg.Metrics.sent(o.Stanza, n)
	}
	return buf, nil
}

// maxOutStanzaBytes bounds one stanza we write: Prosody closes the
// component stream over a stanza larger than its component_stanza_size_limit
// (512 KiB by default, mod_component.lua), less some room.
const maxOutStanzaBytes = 512<<10 - 1<<10

// maxAddrBytes is the longest address a stanza is written to (RFC 7622
// §3.1: three parts of at most 1023 bytes, and the separators).
const maxAddrBytes = 3 * 1024

// inDomain reports whether addr is domain or a JID at domain (room@domain,
// room@domain/nick, domain/resource), splitting as the server does: the
// resource starts at the first '/', the local part ends at the first '@'
// before it. Not room.ParseAddress: the server checks the string as
// written, unnormalized, and so must we.
func inDomain(addr, domain string) bool {
	bare, res, hasRes := strings.Cut(addr, "/")
	if hasRes && res == "" {
		return false
	}
	if local, host, ok := strings.Cut(bare, "@"); ok {
		if local == "" {
			return false
		}
		bare = host
	}
	return bare != "" && bare == domain
}

// streamError is a stream error the server sent on an established link.
type streamError struct{ err stream.Error }

func (e streamError) Error() string { return describeStreamError(e.err) }
func (e streamError) Unwrap() error { return e.err }

// readError turns the reader's error into the reason the link ended.
func readError(err error) error {
	var se stream.Error
	var syn *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return streamError{se}
	case errors.Is(err, io.EOF):
		return errors.New("server closed the stream")
	case errors.As(err, &syn) && syn.Msg == "unexpected EOF", errors.Is(err, stanza.ErrUnexpectedEOF):
		return errors.New("server closed the connection")
	}
	return err
}

// depthReader counts open elements so that the reader can skip the rest of
// a stanza it refused mid-way.
type depthReader struct {
	r     xml.TokenReader
	depth int
}

func (d *depthReader) Token() (xml.Token, error) {
	tok, err := d.r.Token()
	switch tok.(type) {
	case xml.StartElement:
		d.depth++
	case xml.EndElement:
		d.depth--
	}
	return tok, err
}
