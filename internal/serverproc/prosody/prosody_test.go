package prosody

import (
	"os"
	"strings"
	"testing"
)

func TestLuaString(t *testing.T) {
	for i, tc := range [...]struct{ in, want string }{
		0: {`abc`, `"abc"`},
		1: {`a"b\c`, `"a\"b\\c"`},
		2: {"a\nb", `"a\010b"`},
		3: {"ünï", `"ünï"`},
	} {
		if got := luaString(tc.in); got != tc.want {
			t.Errorf("%d: got %s, want %s", i, got, tc.want)
		}
	}
}

// TestPubSubConfig: the pubsub component and its node owners are written
// only when asked for.
func TestPubSubConfig(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		opts Options
		want []string
	}{
		{Options{}, nil},
		{Options{PubSub: "pubsub.localhost", PubSubAdmins: []string{"a@localhost", "b@localhost"}},
			[]string{`Component "pubsub.localhost" "pubsub"`, `admins = { "a@localhost", "b@localhost" }`, `storage = "internal"`}},
	} {
		tc.opts.Dir = t.TempDir()
		s, err := Prepare(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(s.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg := string(b)
		if tc.want == nil && strings.Contains(cfg, `"pubsub"`) {
			t.Errorf("pubsub without asking:\n%s", cfg)
		}
		for _, w := range tc.want {
			if !strings.Contains(cfg, w) {
				t.Errorf("no %s in:\n%s", w, cfg)
			}
		}
	}
}

// Archive adds to the own MUC what makes its rooms persistent and archived
// in SQLite; without it the config is as before.
func TestConfigArchive(t *testing.T) {
	lines := []string{`storage = "sql"`, `sql = { driver = "SQLite3", database = "muc.sqlite" }`,
		`modules_enabled = { "muc_mam" }`, `muc_room_default_persistent = true`, `muc_log_all_rooms = true`}
	for _, tc := range []struct {
		muc     string
		archive bool
		want    bool
	}{{"muc.localhost", true, true}, {"muc.localhost", false, false}, {"", true, false}} {
		var b strings.Builder
		err := configTemplate.Execute(&b, map[string]any{"Host": "localhost", "Component": "conference.localhost",
			"Pidfile": "p", "Data": "d", "Certs": "c", "Log": "l", "Secret": "s", "C2SPort": 1, "ComponentPort": 2,
			"MUC": tc.muc, "Archive": tc.archive, "LogLevel": "warn"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := b.String()
		for _, l := range lines {
			if strings.Contains(cfg, "\t"+l+"\n") != tc.want {
				t.Errorf("MUC %q, Archive %v: line %q present: %v\n%s", tc.muc, tc.archive, l, !tc.want, cfg)
			}
		}
		// The archive's storage is the MUC's alone: accounts stay in memory.
		if !strings.Contains(cfg, "\nstorage = \"memory\"\n") {
			t.Errorf("global storage changed:\n%s", cfg)
		}
	}
}
