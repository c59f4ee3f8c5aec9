package room

import (
	"testing"
)

// Tests of the rules where Chorus follows Prosody's MUC because XEP-0045
// leaves room, and of the room configuration fields' effects.

func TestPasswordRefusalText(t *testing.T) {
	for i, tc := range [...]struct {
		extra string
		want  string
	}{
		0: {"", "A password is required to enter this room"},
		1: {"<password/>", "A password is required to enter this room"},
		2: {"<password>dagger</password>", "The password is wrong"},
		3: {"<password>poison</password>", ""},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_roomsecret", "poison")
		out := h.send(juliet, join("Juliet", tc.extra))
		if tc.want == "" {
			if len(pick(out, juliet, "presence")) != 2 {
				t.Errorf("%d: right password refused: %v", i, out)
			}
			continue
		}
		if len(out) != 1 || condition(out[0]) != "auth/not-authorized" || errorText(out[0]) != tc.want {
			t.Errorf("%d: got %v, want not-authorized %q", i, out, tc.want)
		}
	}
}
