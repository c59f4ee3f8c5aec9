package component

import (
	"errors"
	"sync"

	"chorus/room"
)

// ErrLinkDown is what Sender.Send returns while no link to the server is
// up: nothing was sent.
var ErrLinkDown = errors.New("the link to the XMPP server is down")

// Sender sends stanzas that no inbound stanza caused, such as the outcome
// of an operator's action, on the live component link, through the same
// writer as everything else (so they keep their place in the link's
// order). Give one to Run in Config.Sender; the zero Sender is down.
type Sender struct {
	mu sync.Mutex
	l  *link
}

// Up reports whether a link is up now. Check it before a change whose
// stanzas must reach the occupants: the link may still go down before
// Send, which then says so.
func (s *Sender) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l != nil
}

// Send queues outs for the server. It waits while the link's send queue is
// full, and fails with ErrLinkDown when no link is up or the link ends
// first.
func (s *Sender) Send(outs []room.Out) error {
	s.mu.Lock()
	l := s.l
	s.mu.Unlock()
	if l == nil {
		return ErrLinkDown
	}
	l.hmu.Lock()
	defer l.hmu.Unlock()
	if l.closing {
		return ErrLinkDown
	}
	if len(outs) == 0 {
		return nil
	}
	select {
	case l.out <- batch{outs: outs}:
		return nil
	case <-l.writerDone:
		return ErrLinkDown
	}
}

// attach makes l the link Send uses, until detach.
func (s *Sender) attach(l *link) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.l = l
	s.mu.Unlock()
}

func (s *Sender) detach() { s.attach(nil) }
