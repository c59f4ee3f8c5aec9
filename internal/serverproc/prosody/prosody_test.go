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
