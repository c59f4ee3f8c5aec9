package affiliations

import "testing"

func TestParseRoundTrip(t *testing.T) {
	for a := Outcast; a <= Owner; a++ {
		got, ok := ParseAffiliation(a.String())
		if !ok || got != a {
			t.Errorf("affiliation %v: got %v %v", a, got, ok)
		}
	}
	for r := RoleNone; r <= Moderator; r++ {
		got, ok := ParseRole(r.String())
		if !ok || got != r {
			t.Errorf("role %v: got %v %v", r, got, ok)
		}
	}
	if _, ok := ParseAffiliation("king"); ok {
		t.Error("parsed an unknown affiliation")
	}
	if _, ok := ParseRole(""); ok {
		t.Error("parsed an empty role")
	}
}

func TestDefaultRole(t *testing.T) {
	open, mod, members := RoomKind{}, RoomKind{Moderated: true}, RoomKind{MembersOnly: true}
	for i, tc := range [...]struct {
		a    Affiliation
		k    RoomKind
		want Role
	}{
		0: {Owner, open, Moderator},
		1: {Admin, members, Moderator},
		2: {Member, mod, Participant},
		3: {None, open, Participant},
		4: {None, mod, Visitor},
		5: {None, members, RoleNone},
		6: {Outcast, open, RoleNone},
		7: {Member, members, Participant},
		8: {None, RoomKind{MembersOnly: true, Moderated: true}, RoleNone},
		9: {Outcast, mod, RoleNone},
	} {
		if got := DefaultRole(tc.a, tc.k); got != tc.want {
			t.Errorf("%d: DefaultRole(%v, %+v) = %v, want %v", i, tc.a, tc.k, got, tc.want)
		}
	}
}

// XEP-0045 §5.2.1: the affiliation privileges.
func TestMaySetAffiliation(t *testing.T) {
	for i, tc := range [...]struct {
		actor, cur, next Affiliation
		want             bool
	}{
		0:  {Owner, None, Owner, true},
		1:  {Owner, Admin, None, true},
		2:  {Owner, Owner, Outcast, true},
		3:  {Admin, None, Member, true},
		4:  {Admin, Member, Outcast, true},
		5:  {Admin, Outcast, None, true},
		6:  {Admin, None, Admin, false},
		7:  {Admin, Member, Owner, false},
		8:  {Admin, Admin, None, false},
		9:  {Admin, Owner, Outcast, false},
		10: {Member, None, Member, false},
		11: {None, None, Outcast, false},
		12: {Outcast, None, Member, false},
	} {
		if got := MaySetAffiliation(tc.actor, tc.cur, tc.next); got != tc.want {
			t.Errorf("%d: MaySetAffiliation(%v, %v, %v) = %v, want %v", i, tc.actor, tc.cur, tc.next, got, tc.want)
		}
	}
}

// XEP-0045 §5.1.2: the role privileges.
func TestMaySetRole(t *testing.T) {
	for i, tc := range [...]struct {
		actorAff   Affiliation
		actorRole  Role
		targetAff  Affiliation
		targetRole Role
		next       Role
		want       bool
	}{
		0:  {None, Moderator, None, Participant, RoleNone, true},     // moderator kicks participant
		1:  {None, Moderator, None, Participant, Visitor, true},      // revoke voice
		2:  {None, Moderator, None, Visitor, Participant, true},      // grant voice
		3:  {None, Participant, None, Participant, RoleNone, false},  // participant cannot kick
		4:  {None, Moderator, Member, Participant, RoleNone, false},  // lower affiliation
		5:  {Member, Moderator, None, Participant, Moderator, false}, // only admins grant moderator
		6:  {Admin, Moderator, None, Participant, Moderator, true},
		7:  {Admin, Moderator, Owner, Moderator, RoleNone, false}, // owner outranks admin
		8:  {Owner, Moderator, Admin, Moderator, RoleNone, false}, // admins cannot be kicked
		9:  {Owner, Moderator, Member, Moderator, Participant, true},
		10: {Admin, Visitor, None, Participant, RoleNone, false},
		11: {Owner, Moderator, Admin, Moderator, Moderator, true}, // granting moderator demotes no admin
		12: {Admin, Moderator, Admin, Moderator, Visitor, false},  // admins cannot be silenced
	} {
		if got := MaySetRole(tc.actorAff, tc.actorRole, tc.targetAff, tc.targetRole, tc.next); got != tc.want {
			t.Errorf("%d: got %v, want %v (%+v)", i, got, tc.want, tc)
		}
	}
}

func TestMayListAffiliation(t *testing.T) {
	for i, tc := range [...]struct {
		actor, list Affiliation
		members     bool
		want        bool
	}{
		0:  {Owner, Owner, false, true},
		1:  {Admin, Owner, false, false},
		2:  {Admin, Admin, false, true},
		3:  {Admin, Member, false, true},
		4:  {Admin, Outcast, false, true},
		5:  {Member, Member, false, false},
		6:  {Member, Member, true, true},
		7:  {Member, Owner, true, true},
		8:  {Member, Outcast, true, true},
		9:  {None, Member, true, false},
		10: {Outcast, Outcast, true, false},
		11: {None, None, false, false},
	} {
		if got := MayListAffiliation(tc.actor, tc.list, tc.members); got != tc.want {
			t.Errorf("%d: got %v, want %v", i, got, tc.want)
		}
	}
}
