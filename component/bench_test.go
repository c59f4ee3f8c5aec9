package component

import (
	"bufio"
	"fmt"
	"io"
	"testing"

	"chorus/internal/xmlel"
	"chorus/room"
)

// benchRoom fills a room with n occupants and returns the router.
func benchRoom(b *testing.B, n int) *Router {
	b.Helper()
	reg := room.NewRegistry(room.Options{Domain: "conference.localhost"})
	rt := NewRouter("conference.localhost", reg)
	join := func(i int) {
		st := xmlel.MustParse(fmt.Sprintf(`<presence from='u%d@localhost/r' to='bench@conference.localhost/n%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`, i, i))
		rt.HandleStanza(st)
	}
	join(0)
	rt.HandleStanza(xmlel.MustParse(`<iq type='set' id='c' from='u0@localhost/r' to='bench@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`))
	for i := 1; i < n; i++ {
		join(i)
	}
	return rt
}

// sink stands for the socket: a buffered writer as the link's, draining
// into nothing.
var sink = bufio.NewWriterSize(io.Discard, 32<<10)

// encode does the writer's work (link.writeBatch): each stanza encoded
// once, then for each recipient the shared parts and its address copied
// into the buffered writer. It returns the number of deliveries.
func encode(outs []room.Out, buf *[]byte) int {
	n := 0
	var addr [256]byte
	for _, o := range outs {
		var cut int
		*buf, cut = o.Stanza.AppendShared((*buf)[:0])
		head, tail := (*buf)[:cut], (*buf)[cut:]
		for _, to := range o.To {
			sink.Write(head)
			sink.Write(xmlel.AppendTo(addr[:0], to))
			sink.Write(tail)
			n++
		}
	}
	return n
}

// BenchmarkFanout is one groupchat message to a room of N occupants,
// through the router and the writer's encoding (no socket): the
// component's own cost per delivery.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("occupants=%d", n), func(b *testing.B) {
			rt := benchRoom(b, n)
			msg := xmlel.MustParse(`<message type='groupchat' from='u0@localhost/r' to='bench@conference.localhost'><body>Hello, this is a message of ordinary length for a chat room.</body></message>`)
			buf := make([]byte, 0, 4096)
			deliveries := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st := msg.ShallowCopy()
				st.SetAttr("id", "")
				deliveries += encode(rt.HandleStanza(st), &buf)
			}
			b.StopTimer()
			b.ReportMetric(float64(deliveries)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(testing.AllocsPerRun(10, func() {
				st := msg.ShallowCopy()
				encode(rt.HandleStanza(st), &buf)
			}))/float64(n), "allocs/delivery")
		})
	}
}

// BenchmarkPresenceBroadcast is a presence update of one occupant in a room
// of 100.
func BenchmarkPresenceBroadcast(b *testing.B) {
	rt := benchRoom(b, 100)
	upd := xmlel.MustParse(`<presence from='u5@localhost/r' to='bench@conference.localhost/n5'><show>away</show></presence>`)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		encode(rt.HandleStanza(upd.ShallowCopy()), &buf)
	}
}

// BenchmarkJoin is a join and a leave in a room of 100 occupants.
func BenchmarkJoin(b *testing.B) {
	rt := benchRoom(b, 100)
	join := xmlel.MustParse(`<presence from='new@localhost/r' to='bench@conference.localhost/newbie'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`)
	leave := xmlel.MustParse(`<presence type='unavailable' from='new@localhost/r' to='bench@conference.localhost/newbie'/>`)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		encode(rt.HandleStanza(join.ShallowCopy()), &buf)
		encode(rt.HandleStanza(leave.ShallowCopy()), &buf)
	}
}
