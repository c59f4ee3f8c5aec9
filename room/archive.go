package room

import (
	"context"
	"time"

	"chorus/stanza"
	"chorus/store"
)

// The archive is written off the hot path: rooms hand messages to a
// bounded queue that one goroutine flushes every archiveFlushEvery or
// archiveBatch messages, whichever comes first. A crash loses at most what
// is queued: in steady state the last archiveFlushEvery of messages, and
// never more than archiveQueue messages (a full queue makes rooms wait
// rather than drop messages).
const (
	archiveFlushEvery = 10 * time.Millisecond
	archiveBatch      = 256
	archiveQueue      = 4096
)

// archiveOp is one archive write: a message to append, or a stored message
// to replace (by a retraction tombstone).
type archiveOp struct {
	msg     *store.Message
	room    string // for a replacement:
	replace string // the archive id, and
	stanza  []byte // the new stanza
}

// archiveMessage queues a broadcast message for the archive when the room
// keeps one.
func (r *Room) archiveMessage(msg *stanza.Element, id string) {
	if !r.archives() || id == "" {
		return
	}
	r.archive = append(r.archive, archiveOp{msg: &store.Message{
		Room: r.jid, ID: id, At: r.svc.now(), From: msg.Attr("from"), Stanza: msg.Append(nil),
	}})
}

// archiveReplace queues the replacement of an archived message.
func (r *Room) archiveReplace(id string, msg *stanza.Element) {
	if r.archives() {
		r.archive = append(r.archive, archiveOp{room: r.jid, replace: id, stanza: msg.Append(nil)})
	}
}

// archives reports whether this room's messages go to the archive.
func (r *Room) archives() bool {
	return r.svc.store != nil && r.cfg.Persistent && r.cfg.Logging
}

// archiver owns the queue and the goroutine that writes it.
type archiver struct {
	st    store.Store
	ch    chan archiveOp
	flush chan chan struct{}
	done  chan struct{}
	onErr func(error)
}

func newArchiver(st store.Store, onErr func(error)) *archiver {
	a := &archiver{st: st, ch: make(chan archiveOp, archiveQueue), flush: make(chan chan struct{}), done: make(chan struct{}), onErr: onErr}
	go a.run()
	return a
}

func (a *archiver) run() {
	defer close(a.done)
	tick := time.NewTicker(archiveFlushEvery)
	defer tick.Stop()
	var batch []archiveOp
	for {
		select {
		case op, ok := <-a.ch:
			if !ok {
				a.write(batch)
				return
			}
			batch = append(batch, op)
			if len(batch) >= archiveBatch {
				a.write(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				a.write(batch)
				batch = batch[:0]
			}
		case reply := <-a.flush:
			for drained := false; !drained; {
				select {
				case op := <-a.ch:
					batch = append(batch, op)
				default:
					drained = true
				}
			}
			a.write(batch)
			batch = batch[:0]
			close(reply)
		}
	}
}

// write stores a batch in order: runs of appends in one transaction each.
func (a *archiver) write(batch []archiveOp) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var run []store.Message
	emit := func() {
		if len(run) > 0 {
			if err := a.st.Append(ctx, run); err != nil && a.onErr != nil {
				a.onErr(err)
			}
			run = run[:0]
		}
	}
	for _, op := range batch {
		if op.msg != nil {
			run = append(run, *op.msg)
			continue
		}
		emit()
		if _, err := a.st.Replace(ctx, op.room, op.replace, op.stanza); err != nil && a.onErr != nil {
			a.onErr(err)
		}
	}
	emit()
}

// enqueue hands ops to the writer, waiting when the queue is full.
func (a *archiver) enqueue(ops []archiveOp) {
	for _, op := range ops {
		a.ch <- op
	}
}

// sync waits until everything queued so far is written; at once when the
// writer has stopped.
func (a *archiver) sync() {
	reply := make(chan struct{})
	select {
	case a.flush <- reply:
		<-reply
	case <-a.done:
	}
}

// close writes what is queued and stops the writer.
func (a *archiver) close() {
	close(a.ch)
	<-a.done
}
