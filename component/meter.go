package component

import (
	"errors"
	"net"
	"sync/atomic"
)

// errStanzaTooLarge ends a stream whose peer sent more bytes without
// finishing a stanza than any acceptable stanza needs.
var errStanzaTooLarge = errors.New("component: stanza exceeds the size limit")

// meteredConn counts the bytes read since the last complete stanza. The XML
// decoder materialises whole tokens (a text node, a start tag with its
// attributes) before any element-level limit can look at them, so the only
// bound on memory that a hostile peer cannot get around is one on bytes.
type meteredConn struct {
	net.Conn
	limit int64 // bytes allowed between two stanza ends; 0 = no limit
	n     atomic.Int64
}

func (m *meteredConn) Read(p []byte) (int, error) {
	if m.limit > 0 {
		left := m.limit - m.n.Load()
		if left <= 0 {
			return 0, errStanzaTooLarge
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := m.Conn.Read(p)
	m.n.Add(int64(n))
	return n, err
}

// stanzaDone restarts the count after a complete stanza. Bytes the decoder
// read ahead were counted already, so the bound errs on the strict side by
// at most one read buffer.
func (m *meteredConn) stanzaDone() { m.n.Store(0) }
