package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"chorus/affiliations"
	"chorus/stanza"
	"chorus/store"
)

// The operators' operations (the admin socket, chorus admin). Each that
// changes a room goes through the one room transaction (transact), as a
// stanza does: occupants are told, and the store is written before the
// operation reports success. Each returns the stanzas to send.

// UnknownRoomError is what an operation on a room that does not exist
// returns.
type UnknownRoomError struct{ Room string }

func (e *UnknownRoomError) Error() string { return "no such room: " + e.Room }

// Errors of the operators' operations.
var (
	// ErrRoomExists: AdminCreate of a room there is already.
	ErrRoomExists = errors.New("the room exists already")
	// ErrNoOccupant: AdminKick of a nick nobody holds.
	ErrNoOccupant = errors.New("no occupant with that nickname")
	// ErrLastOwner: the change would leave the room without an owner
	// (XEP-0045 §10.6).
	ErrLastOwner = errors.New("the room must keep at least one owner")
	// ErrNoArchive: Purge without a store that can delete messages.
	ErrNoArchive = errors.New("this service keeps no archive it can purge")
	// ErrNotBanned: Unban of a JID or domain the service does not ban.
	ErrNotBanned = errors.New("not banned")
)

// RoomInfo describes one room in the operators' room list.
type RoomInfo struct {
	JID         string `json:"jid"`
	Name        string `json:"name,omitempty"`
	Persistent  bool   `json:"persistent"`
	Public      bool   `json:"public"`
	MembersOnly bool   `json:"members_only"`
	// Logging says whether the room's messages are archived; LastMessage
	// is only known for those.
	Logging   bool `json:"logging"`
	Occupants int  `json:"occupants"`
	// LastMessage is when the newest archived message was sent; zero
	// when the archive holds none.
	LastMessage time.Time `json:"last_message,omitzero"`
}

// AffiliationInfo is one affiliated user of a room.
type AffiliationInfo struct {
	JID         string `json:"jid"`
	Affiliation string `json:"affiliation"`
	Reason      string `json:"reason,omitempty"`
	Nick        string `json:"nick,omitempty"`
}

// OccupantInfo is one occupant of a room.
type OccupantInfo struct {
	Nick        string   `json:"nick"`
	JID         string   `json:"jid"` // bare real JID
	Role        string   `json:"role"`
	Affiliation string   `json:"affiliation"`
	Sessions    []string `json:"sessions"`
}

// RoomDetail is everything an operator sees of one room.
type RoomDetail struct {
	RoomInfo
	Config Config `json:"config"`
	// PasswordProtected says whether the room has a password; the
	// password itself is not shown.
	PasswordProtected bool              `json:"password_protected"`
	Subject           string            `json:"subject,omitempty"`
	Affiliations      []AffiliationInfo `json:"affiliations"`
	Occupants         []OccupantInfo    `json:"occupant_list"`
}

// CreateOptions configure a room an operator creates.
type CreateOptions struct {
	Name                            string
	Persistent, Public, MembersOnly bool
}

// ServiceBan is one service-wide ban.
type ServiceBan = store.ServiceBan

// roomAddress checks that s is the bare address of a room of this service
// and returns it normalized.
func (g *Registry) roomAddress(s string) (string, error) {
	a, ok := ParseAddress(strings.TrimSpace(s))
	if !ok || a.Local() == "" || a.Resource() != "" || a.Domain() != g.svc.domain {
		return "", fmt.Errorf("%q is not the address of a room of %s", s, g.svc.domain)
	}
	return a.String(), nil
}

// userAddress checks that s is a bare JID (or, with domainOK, a domain).
func userAddress(s string, domainOK bool) (string, error) {
	j, ok := parseJID(strings.TrimSpace(s))
	switch {
	case !ok || s == "":
		return "", fmt.Errorf("%q is not a JID", s)
	case j.Resourcepart() != "":
		return "", fmt.Errorf("%q: a bare JID is expected, not a full JID", s)
	case !domainOK && j.Localpart() == "":
		return "", fmt.Errorf("%q: a user's bare JID is expected", s)
	}
	return j.String(), nil
}

// adminDo runs fn in a transaction of an existing room (loaded when
// stored). stored says fn changes what the store keeps. fn's error means
// it changed nothing.
func (g *Registry) adminDo(roomJID string, stored bool, fn func(r *Room) error) ([]Out, error) {
	var ferr error
	outs, serr, err := g.transactAlways(roomJID, orLoad, nil, stored, func(r *Room) {
		if !r.created {
			ferr = &UnknownRoomError{Room: roomJID} // a join still creating it
			return
		}
		ferr = fn(r)
	})
	switch {
	case serr == errItemNotFound:
		return nil, &UnknownRoomError{Room: roomJID}
	case serr != nil:
		return nil, errors.New("room: " + serr.Text)
	case ferr != nil:
		return nil, ferr
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	return outs, nil
}

func (r *Room) info() RoomInfo {
	return RoomInfo{JID: r.jid, Name: r.cfg.Name, Persistent: r.cfg.Persistent, Public: r.cfg.Public,
		MembersOnly: r.cfg.MembersOnly, Logging: r.archives(), Occupants: len(r.occupants)}
}

// lastMessage fills in when a room's newest archived message was sent.
func (g *Registry) lastMessage(ctx context.Context, info *RoomInfo) error {
	if g.svc.store == nil || !info.Persistent {
		return nil
	}
	if g.archive != nil {
		g.archive.sync() // what is queued counts too
	}
	_, last, err := g.svc.store.Bounds(ctx, info.JID)
	if err != nil {
		return err
	}
	if last != nil {
		info.LastMessage = last.At
	}
	return nil
}

// AdminRooms lists every room, in memory or stored, in JID order.
func (g *Registry) AdminRooms() ([]RoomInfo, error) {
	jids, err := g.RoomJIDs()
	if err != nil {
		return nil, err
	}
	live := map[string]*Room{}
	for _, r := range g.snapshot() {
		live[r.jid] = r
	}
	out := make([]RoomInfo, 0, len(jids))
	for _, j := range jids {
		var info RoomInfo
		if r := live[j]; r != nil {
			r.mu.Lock()
			skip := !r.created || r.closed
			info = r.info()
			r.mu.Unlock()
			if skip {
				continue
			}
		} else {
			ok, err := g.storedInfo(j, &info)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // gone meanwhile
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := g.lastMessage(ctx, &info)
		cancel()
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// storedInfo reads the description of a room that is not in memory from
// the store, without loading the room.
func (g *Registry) storedInfo(roomJID string, info *RoomInfo) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	st, err := g.svc.store.LoadRoom(ctx, roomJID)
	if err != nil || st == nil || st.Tombstone != nil {
		return false, err
	}
	rec := record{Config: defaultConfig()}
	if err := json.Unmarshal(st.Data, &rec); err != nil {
		return false, fmt.Errorf("room %s: %w", roomJID, err)
	}
	c := rec.Config
	*info = RoomInfo{JID: roomJID, Name: c.Name, Persistent: true, Public: c.Public,
		MembersOnly: c.MembersOnly, Logging: c.Logging}
	return true, nil
}

// AdminRoom describes one room: configuration, affiliations, occupants.
func (g *Registry) AdminRoom(roomJID string) (RoomDetail, error) {
	roomJID, err := g.roomAddress(roomJID)
	if err != nil {
		return RoomDetail{}, err
	}
	var d RoomDetail
	_, err = g.adminDo(roomJID, false, func(r *Room) error {
		d.RoomInfo = r.info()
		d.Config = r.cfg
		d.PasswordProtected = r.cfg.Password != ""
		d.Subject = r.subject.text
		d.Affiliations = []AffiliationInfo{}
		for _, j := range sortedKeys(r.affs) {
			rec := r.affs[j]
			d.Affiliations = append(d.Affiliations, AffiliationInfo{JID: j, Affiliation: rec.aff.String(), Reason: rec.reason, Nick: rec.nick})
		}
		d.Occupants = []OccupantInfo{}
		for _, o := range r.occupants {
			d.Occupants = append(d.Occupants, OccupantInfo{Nick: o.Nick, JID: o.Bare, Role: o.Role.String(),
				Affiliation: r.affiliation(o.Bare).String(), Sessions: o.Sessions()})
		}
		return nil
	})
	if err != nil {
		return RoomDetail{}, err
	}
	d.Config.Password = "" // an operator sees that there is one, not what
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return d, g.lastMessage(ctx, &d.RoomInfo)
}

// AdminCreate creates an unlocked room owned by owner. A room that is not
// persistent would leave memory at once, having no occupant: it is
// refused.
func (g *Registry) AdminCreate(roomJID, owner string, o CreateOptions) ([]Out, error) {
	roomJID, err := g.roomAddress(roomJID)
	if err != nil {
		return nil, err
	}
	if owner, err = userAddress(owner, false); err != nil {
		return nil, err
	}
	if !o.Persistent {
		return nil, errors.New("a temporary room without occupants would be gone at once: create it persistent")
	}
	r, serr := g.liveOrStored(roomJID)
	if serr != nil {
		return nil, errors.New("room: " + serr.Text)
	}
	if r != nil {
		return nil, ErrRoomExists
	}
	g.mu.Lock()
	if g.rooms[roomJID] != nil || g.loading[roomJID] != nil {
		g.mu.Unlock()
		return nil, ErrRoomExists
	}
	if g.tombs[roomJID] != nil {
		// An operator may bring a destroyed room back, as an admin's join
		// does.
		if err := g.forgetTombstone(roomJID); err != nil {
			g.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrNotStored, err)
		}
		if g.rooms[roomJID] != nil {
			g.mu.Unlock()
			return nil, ErrRoomExists
		}
	}
	r = newRoom(g.svc, roomJID)
	if m := g.svc.limits.MaxOccupants; m > 0 {
		r.cfg.MaxUsers = m
	}
	g.rooms[roomJID] = r
	delete(g.absent, roomJID)
	g.mu.Unlock()
	outs, _, err := g.transactAlways(roomJID, liveOnly, nil, true, func(r *Room) {
		r.created = true
		r.cfg.Name, r.cfg.Persistent, r.cfg.Public, r.cfg.MembersOnly = o.Name, o.Persistent, o.Public, o.MembersOnly
		r.affs[owner] = affRecord{aff: affiliations.Owner}
		r.affChanged(owner)
		r.dirtyData = true
	})
	if err != nil {
		// The write was undone: the room is as before, never created,
		// and leaves memory.
		g.collect(r)
		return nil, fmt.Errorf("%w: %w", ErrNotStored, err)
	}
	return outs, nil
}

// AdminSetAffiliation changes the affiliation of jid (a bare JID, or a
// domain for outcast) in a room, as an owner does (XEP-0045 §10.3-10.7):
// occupants are told, an outcast is removed with status 301. A room keeps
// at least one owner, and service administrators own every room.
func (g *Registry) AdminSetAffiliation(roomJID, jid string, aff affiliations.Affiliation, reason string) ([]Out, error) {
	roomJID, err := g.roomAddress(roomJID)
	if err != nil {
		return nil, err
	}
	if jid, err = userAddress(jid, aff == affiliations.Outcast || aff == affiliations.None); err != nil {
		return nil, err
	}
	return g.adminDo(roomJID, true, func(r *Room) error {
		c := affChange{target: jid, aff: aff, reason: reason, keep: true}
		if r.svc.isAdmin(jid) && aff != affiliations.Owner {
			return errors.New("service administrators own every room; their affiliation cannot be changed")
		}
		if r.affs[jid].aff == affiliations.Owner && aff != affiliations.Owner && r.lastOwner(jid) {
			return ErrLastOwner
		}
		r.setAffiliation("", c)
		return nil
	})
}

// AdminKick removes the occupant nick from a room (status 307), as a
// moderator's kick does (XEP-0045 §8.2), whatever its affiliation.
func (g *Registry) AdminKick(roomJID, nick, reason string) ([]Out, error) {
	roomJID, err := g.roomAddress(roomJID)
	if err != nil {
		return nil, err
	}
	return g.adminDo(roomJID, false, func(r *Room) error {
		o := r.occupantByNick(nick)
		if o == nil {
			return ErrNoOccupant
		}
		r.setRole("", roleChange{target: o, role: affiliations.RoleNone, reason: reason})
		return nil
	})
}

// LoadBans reads the service-wide bans from the store; run it at start.
func (g *Registry) LoadBans(ctx context.Context) error {
	if g.svc.banStore == nil {
		return nil
	}
	bans, err := g.svc.banStore.LoadBans(ctx)
	if err != nil {
		return err
	}
	for _, b := range bans {
		g.svc.bans.set(b)
	}
	return nil
}

// Ban keeps a user (bare JID) or a whole domain out of every room: it is
// stored first, then the banned users are removed from the rooms they are
// in (status 301, as an outcast is) and refused entry from then on.
func (g *Registry) Ban(jidOrDomain, reason string) ([]Out, error) {
	target, err := userAddress(jidOrDomain, true)
	if err != nil {
		return nil, err
	}
	if g.svc.admins[target] {
		return nil, errors.New("a service administrator cannot be banned")
	}
	ban := ServiceBan{JID: target, Reason: reason, At: g.svc.now().Truncate(time.Millisecond)}
	if bs := g.svc.banStore; bs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := bs.SaveBan(ctx, ban)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotStored, err)
		}
	}
	g.svc.bans.set(ban)
	var outs []Out
	for _, r := range g.snapshot() {
		o, _, _ := g.transact(r.jid, liveOnly, nil, func(r *Room) {
			for _, o := range append([]*Occupant(nil), r.occupants...) {
				if g.svc.serviceBanned(o.Bare) {
					g.svc.refusals.serviceBan.Add(1)
					r.remove(o, statusChange{codes: []string{statusBanned}, reason: reason})
				}
			}
		})
		outs = append(outs, o...)
	}
	return outs, nil
}

// Unban lifts a service-wide ban.
func (g *Registry) Unban(jidOrDomain string) error {
	target, err := userAddress(jidOrDomain, true)
	if err != nil {
		return err
	}
	found := false
	if bs := g.svc.banStore; bs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		found, err = bs.DeleteBan(ctx, target)
		cancel()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNotStored, err)
		}
	}
	if !g.svc.bans.remove(target) && !found {
		return fmt.Errorf("%s is %w", target, ErrNotBanned)
	}
	return nil
}

// Bans lists the service-wide bans in JID order.
func (g *Registry) Bans() ([]ServiceBan, error) { return g.svc.bans.list(), nil }

// say broadcasts text as a message of the room itself, kept in the
// history and the archive as an occupant's message is.
func (r *Room) say(text string) {
	msg := stanza.New(NSClient, "message", "from", r.jid, "type", "groupchat", "id", r.svc.newID()).
		Add(stanza.New(NSClient, "body").AddText(text))
	msg.Add(stanza.New(NSStanzaID, "stanza-id", "id", r.svc.newID(), "by", r.jid))
	r.broadcastMessage(msg)
}

// Say sends a groupchat message from the room itself (its bare JID).
func (g *Registry) Say(roomJID, text string) ([]Out, error) {
	roomJID, err := g.roomAddress(roomJID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("nothing to say")
	}
	return g.adminDo(roomJID, false, func(r *Room) error {
		r.say(text)
		return nil
	})
}

// SayAll sends text to every room that has occupants; rooms nobody is in
// hear nothing.
func (g *Registry) SayAll(text string) ([]Out, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("nothing to say")
	}
	var outs []Out
	for _, r := range g.snapshot() {
		o, _, _ := g.transact(r.jid, liveOnly, nil, func(r *Room) {
			if r.created && !r.isEmpty() {
				r.say(text)
			}
		})
		outs = append(outs, o...)
	}
	return outs, nil
}

// Purge deletes a room's archived messages sent before before (all of
// them when before is zero), and the same from the history joiners get.
// It returns how many archived messages went.
func (g *Registry) Purge(roomJID string, before time.Time) (int, error) {
	roomJID, err := g.roomAddress(roomJID)
	if err != nil {
		return 0, err
	}
	if g.svc.purger == nil {
		return 0, ErrNoArchive
	}
	_, err = g.adminDo(roomJID, false, func(r *Room) error {
		n := 0
		for n < len(r.history.entries) && (before.IsZero() || r.history.entries[n].at.Before(before)) {
			n++
		}
		if n > 0 {
			r.history.dropOldest(n)
			r.history.changes++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if g.archive != nil {
		g.archive.sync() // queued messages are purged too
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := g.svc.purger.PurgeRoom(ctx, roomJID, before)
	return int(n), err
}

// Unused lists the persistent rooms, nobody in them, whose archive holds
// no message of the last days days (or none at all), and with destroy
// destroys them. Rooms that keep no archive are never listed: nothing
// tells when they were last used.
func (g *Registry) Unused(days int, destroy bool) ([]string, []Out, error) {
	if days <= 0 {
		return nil, nil, errors.New("days must be at least 1")
	}
	rooms, err := g.AdminRooms()
	if err != nil {
		return nil, nil, err
	}
	cutoff := g.svc.now().Add(-time.Duration(days) * 24 * time.Hour)
	var unused []string
	for _, info := range rooms {
		if info.Persistent && info.Logging && info.Occupants == 0 && info.LastMessage.Before(cutoff) {
			unused = append(unused, info.JID)
		}
	}
	sort.Strings(unused)
	if !destroy {
		return unused, nil, nil
	}
	var outs []Out
	done := unused[:0:0]
	for _, j := range unused {
		o, found, err := g.Destroy(j, "", "Unused for "+fmt.Sprint(days)+" days")
		if err != nil {
			return done, outs, err
		}
		if found {
			done = append(done, j)
			outs = append(outs, o...)
		}
	}
	return done, outs, nil
}
