package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/internal/ejabberd"
	"chorus/internal/fakehost"
	"chorus/internal/prosody"
	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// The deployed profile's own MUCs: rooms created with Persistent are
// persistent, their messages are archived and paged back by the MAM
// storm, and joiners get the history before the subject.
func TestDeployedProsody(t *testing.T) {
	prosody.Require(t)
	if err := prosody.ArchiveAvailable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := prosody.Start(t, prosody.Options{LogLevel: "warn", MUC: "muc.localhost", Archive: true})
	if err != nil {
		t.Fatal(err)
	}
	checkDeployed(t, s.C2SAddr(), "muc.localhost")
}

func TestDeployedEjabberd(t *testing.T) {
	ejabberd.Require(t)
	s, err := ejabberd.Start(t, ejabberd.Options{LogLevel: "warn", MUC: "muc.localhost", Archive: true})
	if err != nil {
		t.Fatal(err)
	}
	checkDeployed(t, s.C2SAddr(), "muc.localhost")
}

func checkDeployed(t *testing.T, c2s, muc string) {
	t.Helper()
	c := Common{Server: c2s, Domain: "localhost", Password: "bench", MUC: muc, Persistent: true, Label: "test", Log: testLog{t}}
	c.Prefix = "q"
	res, err := MAM(t.Context(), MAMConfig{Common: c, Occupants: 3, Messages: 30, Pages: 2, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Queries != 6 || res.Results != 60 || res.QueriesPerSec <= 0 || res.LatencyMS.Max <= 0 {
		t.Errorf("MAM storm %+v", res)
	}
	persistent(t, c, "bench0@"+muc)

	c.Prefix, c.Rooms = "j", 2
	jr, err := Join(t.Context(), JoinConfig{Common: c, Joins: 4, Concurrency: 2, History: 25})
	if err != nil {
		t.Fatal(err)
	}
	// 25 posted, 20 sent: both servers' default history.
	if jr.History != 25 || jr.HistoryPerJoin != 20 {
		t.Errorf("join storm with history %+v", jr)
	}
}

// persistent checks that disco#info of room lists muc_persistent.
func persistent(t *testing.T, c Common, room string) {
	t.Helper()
	cl, err := Dial(t.Context(), c.account("disco", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ch := collect(cl)
	if err := cl.Write([]byte("<iq type='get' id='info' to='" + room + "'><query xmlns='" + stanza.NSDiscoInfo + "'/></iq>")); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-ch:
			if id, _ := Attr([]byte(s), "id"); string(id) != "info" {
				continue
			}
			if !strings.Contains(s, "'muc_persistent'") && !strings.Contains(s, `"muc_persistent"`) {
				t.Errorf("%s is not persistent: %s", room, s)
			}
			return
		case <-timeout:
			t.Fatalf("no disco#info answer from %s", room)
		}
	}
}

// Chorus archives only persistent rooms: the MAM storm pages back through
// the archive of the rooms the scenarios make persistent, and joiners get
// the history before the subject.
func TestDeployedChorus(t *testing.T) {
	h := startChorus(t)
	checkDeployed(t, h.C2SAddr(), h.ComponentDomain())
}

// startChorus runs Chorus in-process, with a SQLite store and limits that
// do not hold the scenarios back, behind a fake host.
func startChorus(t *testing.T) *fakehost.Host {
	t.Helper()
	h, err := fakehost.Start(fakehost.Options{Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "chorus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	const many = 1_000_000
	reg := room.NewRegistry(room.Options{Domain: h.ComponentDomain(), Store: st,
		OnStoreError: func(err error) { t.Errorf("store: %v", err) },
		Limits: room.Limits{MessageRate: many, MessageBurst: many, PresenceRate: many, PresenceBurst: many,
			MaxNick: 64, MaxSubject: 1024, MaxBody: 65536, RoomsPerUser: many, MaxOccupants: many,
			HistoryBytes: 1 << 20, HistoryBudget: 1 << 30}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- component.Run(ctx, component.Config{Domain: h.ComponentDomain(), Secret: "s3cret", Server: h.ComponentAddr(),
			Logger: zerolog.Nop(), MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second},
			component.NewRouter(h.ComponentDomain(), reg))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("chorus: %v", err)
		}
		reg.Close()
	})
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if err := h.WaitComponent(wctx, true); err != nil {
		t.Fatalf("chorus did not attach: %v", err)
	}
	return h
}
