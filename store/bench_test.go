package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks, for SQLite and, with CHORUS_TEST_POSTGRES set, PostgreSQL:
//
//	go test -run '^$' -bench . -benchtime 2s ./store/
//
// BenchmarkQueryPage reads a 1 000 000-message room (among 20 other rooms of
// 5 000 messages each, interleaved with it). Building that archive takes a
// while, so it is kept between runs: for SQLite as
// $TMPDIR/chorus-bench-<key>.db, for PostgreSQL as the schema
// chorus_bench_<key> of the test database, where the key is a hash of the
// migrations and the archive's layout: a changed schema or layout gets a new
// name. Delete the file or DROP SCHEMA ... CASCADE to reclaim the space.

const (
	benchBig    = 1_000_000
	benchOthers = 20
	benchPerRm  = 5_000
	// benchLayout names the shape of the cached archive; change it with the
	// shape.
	benchLayout = 1
	benchRoom   = "big@bench"
	benchDone   = "built@bench" // stored last: the archive is complete
)

type benchBackend struct {
	name string
	// fresh opens an empty store; archive opens the cached big one.
	fresh   func(b *testing.B) Store
	archive func(b *testing.B) Store
}

func benchBackends(b *testing.B) []benchBackend {
	bs := []benchBackend{{"sqlite", func(b *testing.B) Store { return openSQLiteFile(b) }, sqliteArchive}}
	if os.Getenv(pgEnv) != "" {
		bs = append(bs, benchBackend{"postgres", func(b *testing.B) Store { return openPostgresTest(b) }, postgresArchive})
	}
	return bs
}

// benchKey names the cached archive.
func benchKey() string {
	ms, err := loadMigrations()
	if err != nil {
		panic(err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "layout %d\n", benchLayout)
	for _, m := range ms {
		fmt.Fprintf(h, "%s\n%s\n", m.name, m.sql)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func benchMsg(room string, i int, at time.Time) Message {
	return Message{
		Room:   room,
		ID:     fmt.Sprintf("%s-%07d", room, i),
		At:     at,
		From:   fmt.Sprintf("%s/user%d", room, i%50),
		Stanza: fmt.Appendf(nil, "<message type='groupchat' id='m%d'><body>message number %d of the benchmark, a sentence of ordinary length</body></message>", i, i),
	}
}

// BenchmarkAppend stores batches of 100 messages.
func BenchmarkAppend(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.fresh(b)
			n := 0
			batch := make([]Message, 100)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for k := range batch {
					batch[k] = benchMsg("r@bench", n, t0.Add(time.Duration(n)*time.Millisecond))
					n++
				}
				if err := s.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkAppendParallel stores one message per call from many goroutines,
// as rooms archiving their messages do; SQLite commits queued calls together.
func BenchmarkAppendParallel(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.fresh(b)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := int(seq.Add(1))
					m := benchMsg(fmt.Sprintf("r%d@bench", n%16), n, t0)
					if err := s.Append(ctx, []Message{m}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(seq.Load())/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkQueryPage reads pages of 50 from the 1M-message room.
func BenchmarkQueryPage(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name, func(b *testing.B) {
			s := be.archive(b)
			rng := rand.New(rand.NewPCG(1, 2))
			id := func() string { return fmt.Sprintf("%s-%07d", benchRoom, rng.IntN(benchBig)) }
			run := func(name string, q func() Query, want int) {
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						p, err := s.Query(ctx, q())
						if err != nil {
							b.Fatal(err)
						}
						if len(p.Messages) > 50 || (want > 0 && len(p.Messages) != want) {
							b.Fatalf("%d messages", len(p.Messages))
						}
					}
				})
			}
			run("After", func() Query { return Query{Room: benchRoom, After: id(), Max: 50} }, 0)
			run("Before", func() Query { return Query{Room: benchRoom, Before: id(), Max: 50} }, 0)
			run("Last", func() Query { return Query{Room: benchRoom, Last: true, Max: 50} }, 50)
			run("LastWith", func() Query {
				return Query{Room: benchRoom, Last: true, Max: 50, With: benchRoom + "/user7"}
			}, 50)
			// A window of time in the middle of the room, found by walking
			// the room in archive order.
			run("StartMiddle", func() Query {
				start := t0.Add(time.Duration(rng.IntN(benchBig)) * time.Second)
				return Query{Room: benchRoom, Start: start, End: start.Add(time.Hour), Max: 50}
			}, 0)
			b.Run("Latest", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Latest(ctx, benchRoom, 20); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// fillArchive stores the benchmark archive in s: the big room's messages one
// second apart, with the other rooms' messages between them.
func fillArchive(tb testing.TB, s Store) {
	start := time.Now()
	const batch = 10_000
	buf := make([]Message, 0, batch)
	flush := func() {
		if err := s.Append(ctx, buf); err != nil {
			tb.Fatal(err)
		}
		buf = buf[:0]
	}
	every := benchBig / (benchOthers * benchPerRm) // big-room messages per other message
	other := 0
	for i := range benchBig {
		at := t0.Add(time.Duration(i) * time.Second)
		buf = append(buf, benchMsg(benchRoom, i, at))
		if i%every == every-1 && other < benchOthers*benchPerRm {
			room := fmt.Sprintf("o%02d@bench", other%benchOthers)
			buf = append(buf, benchMsg(room, other, at))
			other++
		}
		if len(buf) >= batch {
			flush()
		}
	}
	flush()
	if err := s.UpdateRoom(ctx, RoomUpdate{JID: benchDone}); err != nil {
		tb.Fatal(err)
	}
	d := time.Since(start)
	rows := benchBig + other
	tb.Logf("built the archive: %d messages in %v (%.0f rows/s)", rows, d.Round(time.Millisecond), float64(rows)/d.Seconds())
}

func archiveBuilt(tb testing.TB, s Store) bool {
	st, err := s.LoadRoom(ctx, benchDone)
	if err != nil {
		tb.Fatal(err)
	}
	return st != nil
}

var sqliteArchiveOnce sync.Mutex

func sqliteArchive(b *testing.B) Store {
	sqliteArchiveOnce.Lock()
	defer sqliteArchiveOnce.Unlock()
	p := filepath.Join(os.TempDir(), "chorus-bench-"+benchKey()+".db")
	if _, err := os.Stat(p); err != nil {
		// Built under another name and renamed when complete, so that an
		// interrupted build is never taken for a finished one.
		tmp := p + ".building"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		s, err := Open(context.Background(), "sqlite://"+tmp)
		if err != nil {
			b.Fatal(err)
		}
		fillArchive(b, s)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			b.Fatal(err)
		}
	} else {
		b.Logf("reusing the archive in %s", p)
	}
	s := mustOpen(b, "sqlite://"+p)
	if !archiveBuilt(b, s) {
		b.Fatalf("%s is incomplete; delete it", p)
	}
	return s
}

var pgArchiveOnce sync.Mutex

func postgresArchive(b *testing.B) Store {
	pgArchiveOnce.Lock()
	defer pgArchiveOnce.Unlock()
	base := pgBaseURL(b)
	schema := "chorus_bench_" + benchKey()
	pgExec(b, base, "CREATE SCHEMA IF NOT EXISTS "+schema)
	s := mustOpen(b, withQuery(b, base, "search_path", schema))
	if archiveBuilt(b, s) {
		b.Logf("reusing the archive in schema %s", schema)
		return s
	}
	// Whatever an interrupted build left goes first.
	u := withQuery(b, base, "search_path", schema)
	pgExec(b, u, "TRUNCATE archive")
	fillArchive(b, s)
	pgExec(b, u, "ANALYZE")
	return s
}
