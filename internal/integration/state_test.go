package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// These tests check that what Chorus acknowledges is what it stores, and
// only that: through a real Prosody, with a store that fails under it
// (PostgreSQL stopped, the SQLite file made immutable) and with Chorus
// stopped and started again on the same store.

// pgBin finds the directory of initdb and pg_ctl: on PATH, or where
// Debian's packages put the newest installed version (as .ci/run looks).
func pgBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	if len(dirs) == 0 {
		return ""
	}
	return dirs[len(dirs)-1]
}

// throwawayPostgres runs a PostgreSQL instance of the test's own in a
// temporary directory, so that stopping it touches nobody else's. It
// returns its URL and functions to stop and start it again.
func throwawayPostgres(t *testing.T) (url string, stop, start func()) {
	t.Helper()
	bin := pgBin()
	if _, err := os.Stat(filepath.Join(bin, "initdb")); bin == "" || err != nil {
		require(t, errors.New("PostgreSQL server binaries not installed (apt-get install postgresql)"))
	}
	if os.Getuid() != 0 {
		require(t, errors.New("a throwaway PostgreSQL needs root to run it as the postgres user"))
	}
	dir, err := os.MkdirTemp("", "chorus-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(exec.Command("chown", "postgres:", dir).Run())
	data := filepath.Join(dir, "data")
	run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	start = func() {
		run(filepath.Join(bin, "pg_ctl"), "-D", data, "-w", "-l", filepath.Join(dir, "log"),
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dir), "start")
	}
	stop = func() { run(filepath.Join(bin, "pg_ctl"), "-D", data, "-w", "-m", "fast", "stop") }
	start()
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop").Run()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port), stop, start
}

// immutableSQLite is a SQLite store whose files can be made unwritable
// while open: chattr +i refuses writes even to root and to open files.
func immutableSQLite(t *testing.T) (url string, stop, start func()) {
	t.Helper()
	if _, err := exec.LookPath("chattr"); err != nil {
		require(t, fmt.Errorf("chattr not installed (apt-get install e2fsprogs): %w", err))
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "chorus.db")
	files := func() []string { return []string{db, db + "-wal"} }
	chattr := func(flag string) {
		for _, f := range files() {
			if out, err := exec.Command("chattr", flag, f).CombinedOutput(); err != nil {
				t.Fatalf("chattr %s %s: %v %s", flag, f, err, out)
			}
		}
	}
	t.Cleanup(func() {
		for _, f := range files() {
			exec.Command("chattr", "-i", f).Run()
		}
	})
	return "sqlite://" + db, func() { chattr("+i") }, func() { chattr("-i") }
}

func openStore(t *testing.T, url string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// runTolerant runs Chorus on st, counting store errors instead of failing
// the test on them.
func runTolerant(t *testing.T, srv *prosody.Server, st store.Store, errs *atomic.Int32) (stop func()) {
	t.Helper()
	return runChorus(t, srv.ComponentAddr(), srv.Secret(), room.Options{Store: st,
		OnStoreError: func(err error) { errs.Add(1); t.Logf("store (expected): %v", err) }}, nil)
}

func ownerConfig(id, roomJID string, fields ...string) string {
	form := `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`
	for i := 0; i+1 < len(fields); i += 2 {
		form += `<field var='` + fields[i] + `'><value>` + fields[i+1] + `</value></field>`
	}
	return `<iq type='set' id='` + id + `' to='` + roomJID + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` + form + `</x></query></iq>`
}

func adminDestroy(id string, rooms ...string) string {
	vals := ""
	for _, r := range rooms {
		vals += `<value>` + r + `</value>`
	}
	return `<iq type='set' id='` + id + `' to='` + Service + `'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy'>` +
		`<x xmlns='jabber:x:data' type='submit'><field var='rooms'>` + vals + `</field></x></command></iq>`
}

// refused reports whether e is the refusal of a change the store did not
// take: wait/internal-server-error.
func refused(e *stanza.Element) bool {
	er := e.Child(stanza.NSClient, "error")
	return e.Attr("type") == "error" && er.Attr("type") == "wait" &&
		er.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "internal-server-error") != nil
}

// roomName asks the room's disco#info for its name.
func roomName(ctx context.Context, t *testing.T, c *faultClient, roomJID string) string {
	t.Helper()
	id := fmt.Sprintf("info-%d", time.Now().UnixNano())
	c.send(t, `<iq type='get' id='`+id+`' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	e, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool { return e.Attr("id") == id })
	if err != nil {
		t.Fatal(err)
	}
	return e.FirstChild().Child("http://jabber.org/protocol/disco#info", "identity").Attr("name")
}

// TestRefusedWritesThroughProsody: with the store failing, a configuration
// change, a subject change, a ban and the administrator's destroy are each
// refused to their sender, nobody else hears of them, and neither the
// live room nor, after a restart, the stored one shows them.
func TestRefusedWritesThroughProsody(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	for i, tc := range [...]struct {
		name string
		make func(t *testing.T) (url string, breakIt, fix func())
	}{
		0: {"postgres-stopped", throwawayPostgres},
		1: {"sqlite-immutable", immutableSQLite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, breakIt, fix := tc.make(t)
			srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var errs atomic.Int32
			st := openStore(t, url)
			stop := runTolerant(t, srv, st, &errs)
			c2s := srv.C2SAddr()
			owner := dialFault(ctx, t, c2s, "romeo@localhost/r")
			other := dialFault(ctx, t, c2s, "juliet@localhost/r")
			admin := dialFault(ctx, t, c2s, AdminJID+"/r")
			roomJID := fmt.Sprintf("state%d@%s", i, Service)
			owner.createOpen(ctx, t, roomJID, "Romeo", "muc#roomconfig_persistentroom", "1",
				"muc#roomconfig_roomname", "Before", "muc#roomconfig_publicroom", "1")
			other.enter(ctx, t, roomJID, "Juliet")
			owner.send(t, `<message type='groupchat' to='`+roomJID+`'><subject>Old subject</subject></message>`)
			other.expect(ctx, t, "old subject", func(e *stanza.Element) bool { return e.ChildText(stanza.NSClient, "subject") == "Old subject" })

			breakIt()
			before := errs.Load()
			owner.send(t, ownerConfig("c2", roomJID, "muc#roomconfig_roomname", "After"))
			owner.expect(ctx, t, "configuration refused", func(e *stanza.Element) bool { return e.Attr("id") == "c2" && refused(e) })
			owner.send(t, `<message type='groupchat' id='s2' to='`+roomJID+`'><subject>New subject</subject></message>`)
			owner.expect(ctx, t, "subject refused", func(e *stanza.Element) bool { return e.Attr("id") == "s2" && refused(e) })
			owner.send(t, `<iq type='set' id='ban' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='juliet@localhost'/></query></iq>`)
			owner.expect(ctx, t, "ban refused", func(e *stanza.Element) bool { return e.Attr("id") == "ban" && refused(e) })
			admin.send(t, adminDestroy("d1", roomJID))
			admin.expect(ctx, t, "destroy refused", func(e *stanza.Element) bool {
				return e.Attr("id") == "d1" && strings.Contains(e.String(), "type='error'") && strings.Contains(e.String(), "could not be destroyed")
			})
			if errs.Load() == before {
				t.Error("no store error reported")
			}
			// Juliet hears nothing of it: everything until Romeo's marker.
			owner.send(t, `<message type='groupchat' to='`+roomJID+`'><body>marker</body></message>`)
			for _, e := range other.drain(ctx, t, "marker") {
				if e.Child(stanza.NSClient, "subject") != nil || strings.Contains(e.String(), "code='104'") ||
					e.Attr("type") == "unavailable" {
					t.Errorf("occupant told of a refused change: %v", e)
				}
			}
			if got := roomName(ctx, t, other, roomJID); got != "Before" {
				t.Errorf("live room name %q", got)
			}

			fix()
			stop()
			st.Close()
			st = openStore(t, url)
			defer st.Close()
			stop = runTolerant(t, srv, st, &errs)
			defer stop()
			// Over the restart: the room, its name and subject as before the
			// failure.
			if got := roomName(ctx, t, other, roomJID); got != "Before" {
				t.Errorf("stored room name %q", got)
			}
			// Juliet, whose ban was refused, may join again.
			other.send(t, joinStanza(roomJID, "Juliet"))
			e, err := other.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
				// The subject comes from the occupant who set it.
				return strings.HasPrefix(e.Attr("from"), roomJID) && (e.Child(stanza.NSClient, "subject") != nil || e.Attr("type") == "error")
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := e.ChildText(stanza.NSClient, "subject"); e.Attr("type") == "error" || got != "Old subject" {
				t.Errorf("join after restart: %v", e)
			}
		})
	}
}

// itemsOf asks the service for a page of its room list.
func itemsOf(ctx context.Context, t *testing.T, c *faultClient, rsm string) (jids []string, count int) {
	t.Helper()
	id := fmt.Sprintf("items-%d", time.Now().UnixNano())
	c.send(t, `<iq type='get' id='`+id+`' to='`+Service+`'><query xmlns='http://jabber.org/protocol/disco#items'>`+rsm+`</query></iq>`)
	e, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool { return e.Attr("id") == id })
	if err != nil {
		t.Fatal(err)
	}
	count = -1
	for _, it := range e.FirstChild().Children() {
		switch it.Local {
		case "item":
			jids = append(jids, it.Attr("jid"))
		case "set":
			count, _ = strconv.Atoi(it.ChildText("http://jabber.org/protocol/rsm", "count"))
		}
	}
	return jids, count
}

// TestRoomListAndDestroyOverRestarts: persistent public rooms are in the
// service's room list while nobody is in them and after a restart, before
// anything loads them; the administrator's destroy reaches a room that is
// not loaded, and the room stays destroyed over the next restart.
func TestRoomListAndDestroyOverRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			storeURL := b.URL(t)
			srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			st := openStore(t, storeURL)
			stop := RunChorus(t, srv.ComponentAddr(), srv.Secret(), st)
			c2s := srv.C2SAddr()
			owner := dialFault(ctx, t, c2s, "romeo@localhost/r")
			admin := dialFault(ctx, t, c2s, AdminJID+"/r")
			rooms := []string{"alpha@" + Service, "beta@" + Service, "gamma@" + Service}
			for i, r := range rooms {
				pub := "1"
				if i == 2 {
					pub = "0" // hidden: never in the list, still the admin's to destroy
				}
				owner.createOpen(ctx, t, r, "Romeo", "muc#roomconfig_persistentroom", "1", "muc#roomconfig_publicroom", pub)
				owner.send(t, `<presence type='unavailable' to='`+r+`/Romeo'/>`)
			}
			owner.sync(ctx, t, rooms[2])
			if got, _ := itemsOf(ctx, t, owner, ""); strings.Join(got, " ") != rooms[0]+" "+rooms[1] {
				t.Errorf("room list with the rooms empty: %v", got)
			}
			restart := func() {
				stop()
				st.Close()
				st = openStore(t, storeURL)
				stop = RunChorus(t, srv.ComponentAddr(), srv.Secret(), st)
			}
			restart()
			got, count := itemsOf(ctx, t, owner, `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>`)
			if strings.Join(got, " ") != rooms[0] || count != 2 {
				t.Errorf("first page after a restart: %v of %d", got, count)
			}
			got, _ = itemsOf(ctx, t, owner, `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><after>`+rooms[0]+`</after></set>`)
			if strings.Join(got, " ") != rooms[1] {
				t.Errorf("second page after a restart: %v", got)
			}
			// The admin's command lists and destroys rooms nothing loaded.
			admin.send(t, `<iq type='set' id='form' to='`+Service+`'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' action='execute'/></iq>`)
			admin.expect(ctx, t, "destroy form", func(e *stanza.Element) bool {
				return e.Attr("id") == "form" && strings.Contains(e.String(), "<value>"+rooms[2]+"</value>") && strings.Contains(e.String(), "<value>"+rooms[1]+"</value>")
			})
			admin.send(t, adminDestroy("d", rooms[1], rooms[2]))
			admin.expect(ctx, t, "destroy", func(e *stanza.Element) bool {
				return e.Attr("id") == "d" && strings.Contains(e.String(), rooms[1]+"\n"+rooms[2]+"</note>")
			})
			restart()
			defer func() { stop(); st.Close() }()
			if got, _ := itemsOf(ctx, t, owner, ""); strings.Join(got, " ") != rooms[0] {
				t.Errorf("room list after the destroy and a restart: %v", got)
			}
			for _, r := range rooms[1:] {
				owner.send(t, joinStanza(r, "Romeo"))
				owner.expect(ctx, t, "gone "+r, func(e *stanza.Element) bool {
					return e.Attr("from") == r+"/Romeo" && e.Attr("type") == "error" &&
						e.Child(stanza.NSClient, "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "gone") != nil
				})
			}
		})
	}
}
