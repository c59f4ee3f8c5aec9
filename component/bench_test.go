package component

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"testing"

	"chorus/room"
	"chorus/stanza"
)

// benchRoom fills a room with n occupants and returns the router.
func benchRoom(b testing.TB, n int) *Router {
	b.Helper()
	reg := room.NewRegistry(room.Options{Domain: "conference.localhost"})
	rt := NewRouter("conference.localhost", reg)
	join := func(i int) {
		st := stanza.MustParse(fmt.Sprintf(`<presence from='u%d@localhost/r' to='bench@conference.localhost/n%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`, i, i))
		rt.HandleStanza(st)
	}
	join(0)
	rt.HandleStanza(stanza.MustParse(`<iq type='set' id='c' from='u0@localhost/r' to='bench@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`))
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
			sink.Write(stanza.AppendTo(addr[:0], to))
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
			msg := stanza.MustParse(`<message type='groupchat' from='u0@localhost/r' to='bench@conference.localhost'><body>Hello, this is a message of ordinary length for a chat room.</body></message>`)
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
	upd := stanza.MustParse(`<presence from='u5@localhost/r' to='bench@conference.localhost/n5'><show>away</show></presence>`)
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
	join := stanza.MustParse(`<presence from='new@localhost/r' to='bench@conference.localhost/newbie'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`)
	leave := stanza.MustParse(`<presence type='unavailable' from='new@localhost/r' to='bench@conference.localhost/newbie'/>`)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		encode(rt.HandleStanza(join.ShallowCopy()), &buf)
		encode(rt.HandleStanza(leave.ShallowCopy()), &buf)
	}
}

// BenchmarkLinkFanout is the whole component on a real socket: groupchat
// messages written by a fake host over loopback TCP, decoded by the
// link's reader, handled by a room worker, encoded and written back by the
// writer, counted by the fake host. deliveries/cpu-s divides by the
// process's CPU time (the fake host's share is a byte scan), so it reads
// as deliveries per second on one core.
func BenchmarkLinkFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("occupants=%d", n), func(b *testing.B) {
			rt := benchRoom(b, n)
			srv := newFakeServer(b, testDomain, testSecret)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Config{Domain: testDomain, Secret: testSecret, Server: srv.addr(), Logger: zerolog.Nop()}, rt)
			}()
			defer func() { cancel(); <-done }()
			c := srv.next(b)
			c.c.SetDeadline(time.Time{})

			want := int64(b.N) * int64(n)
			counted := make(chan int64, 1)
			go func() { counted <- countClosing(c.c, []byte("</message>"), want) }()
			msg := []byte(`<message type='groupchat' from='u0@localhost/r' to='bench@conference.localhost'><body>Hello, this is a message of ordinary length for a chat room.</body></message>`)
			chunk := bytes.Repeat(msg, 64)

			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu0 := processCPU()
			b.ResetTimer()
			for sent := 0; sent < b.N; sent += 64 {
				p := chunk
				if left := b.N - sent; left < 64 {
					p = chunk[:left*len(msg)]
				}
				if _, err := c.c.Write(p); err != nil {
					b.Fatal(err)
				}
			}
			got := <-counted
			b.StopTimer()
			cpu := processCPU() - cpu0
			runtime.ReadMemStats(&m1)
			if got < want {
				b.Fatalf("%d deliveries, want %d", got, want)
			}
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(got)/cpu.Seconds(), "deliveries/cpu-s")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(got), "allocs/delivery")
		})
	}
}

// countClosing reads r until it has seen want occurrences of end, or r
// fails, and returns how many it saw.
func countClosing(r io.Reader, end []byte, want int64) int64 {
	buf := make([]byte, 64<<10)
	var n int64
	keep := 0 // bytes carried over: a tag may straddle two reads
	for n < want {
		m, err := r.Read(buf[keep:])
		if m == 0 && err != nil {
			return n
		}
		data := buf[:keep+m]
		n += int64(bytes.Count(data, end))
		keep = min(len(end)-1, len(data))
		copy(buf, data[len(data)-keep:])
	}
	return n
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
