package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Affiliation is one affiliated user of a room.
type Affiliation struct {
	JID         string // bare JID, or a domain for a host-wide ban
	Affiliation string // owner, admin, member or outcast
	Reason      string
	Nick        string // reserved nickname, may be empty
}

// Tombstone marks a destroyed persistent room until Until.
type Tombstone struct {
	Alt, Reason string
	Until       time.Time
}

// RoomState is everything stored about one room.
type RoomState struct {
	JID string
	// Data is the room's own record (configuration, subject, vCard, ...),
	// opaque to the store.
	Data         json.RawMessage
	Affiliations []Affiliation
	// Tombstone is set for a destroyed room; Data and Affiliations are
	// then empty.
	Tombstone *Tombstone
}

// RoomUpdate is one durable change to a room, applied in one transaction.
type RoomUpdate struct {
	JID string
	// Data replaces the room's record when not nil.
	Data json.RawMessage
	// SetAffiliations inserts or replaces these entries.
	SetAffiliations []Affiliation
	// DeleteAffiliations removes the entries of these JIDs.
	DeleteAffiliations []string
	// Public and Name describe the room in room lists (ListRooms). They
	// are written with Data and ignored when Data is nil.
	Public bool
	Name   string
}

// RoomListQuery selects stored rooms, tombstones never included, in the
// order of their JIDs compared bytewise (Go's string order), one page at a
// time (XEP-0059 paging of the service's room list).
type RoomListQuery struct {
	// PublicOnly keeps only the rooms stored with Public set.
	PublicOnly bool
	// After and Before are room JIDs, which need not be stored: the page
	// starts after After, or ends before Before. Only one of them is set.
	After, Before string
	// Last asks for the last page.
	Last bool
	// Max bounds the page; ListRooms clamps it to 1..1000 (0 means 100).
	Max int
}

// RoomSummary is one room of a list.
type RoomSummary struct {
	JID    string
	Name   string
	Public bool
}

// RoomList is one page of rooms.
type RoomList struct {
	// Rooms are in JID order.
	Rooms []RoomSummary
	// Total counts every room the query's filter keeps, on every page.
	Total int
	// Index counts those that sort before Rooms[0]; 0 when Rooms is empty.
	Index int
}

// Message is one archived groupchat message.
type Message struct {
	Room string
	// ID is the archive id, also the message's XEP-0359 stanza-id; unique
	// within the store. Ids are chosen by the caller.
	ID string
	At time.Time
	// From is the occupant JID (room@service/nick) the message came from,
	// for the MAM "with" filter.
	From string
	// Stanza is the message as broadcast, without "to", encoded as XML.
	Stanza []byte
}

// Query selects archived messages of one room (XEP-0313 with XEP-0059
// paging). Results are in archive order (oldest first) within the page.
type Query struct {
	Room string
	// Start and End bound At, inclusive; zero means unbounded.
	Start, End time.Time
	// With keeps only messages whose From equals it, when not empty.
	With string
	// After and Before are archive ids: the page starts after After, or
	// ends before Before. Only one of them is set.
	After, Before string
	// Last asks for the last page (an empty <before/>): the newest Max
	// messages matching, still returned oldest first.
	Last bool
	// Max bounds the page; Query clamps it to 1..1000 (0 means 100).
	Max int
	// IDs keeps only the messages with these archive ids, when not empty
	// (XEP-0313 §4.1.3, the "ids" field); results stay in archive order.
	// An id the room does not have makes Query fail with ErrNotFound.
	IDs []string
}

// Page is one page of results.
type Page struct {
	Messages []Message
	// Complete is true when the page reaches the end of the results in the
	// direction of paging (the oldest for Before/Last, the newest
	// otherwise).
	Complete bool
}

// ErrNotFound is returned by Query when After, Before or one of IDs names
// no message of the room (XEP-0313 §4.1.3, §4.3.2: item-not-found).
var ErrNotFound = errors.New("store: no such archive id")

// Store is the persistence of a Chorus service. Methods are safe for
// concurrent use. A method that returns nil has made its change durable.
type Store interface {
	// LoadRoom returns the stored state of a room, or nil and no error
	// when nothing is stored.
	LoadRoom(ctx context.Context, jid string) (*RoomState, error)
	// UpdateRoom applies u in one transaction, creating the room's record
	// if needed and removing any tombstone of it.
	UpdateRoom(ctx context.Context, u RoomUpdate) error
	// DeleteRoom removes a room's record and affiliations (its archive
	// stays until it expires). With t not nil the room leaves a tombstone.
	DeleteRoom(ctx context.Context, jid string, t *Tombstone) error
	// ListRooms returns one page of the stored rooms.
	ListRooms(ctx context.Context, q RoomListQuery) (RoomList, error)

	// Append archives messages, all or none.
	Append(ctx context.Context, msgs []Message) error
	// Query returns one page of a room's archive.
	Query(ctx context.Context, q Query) (Page, error)
	// Latest returns the newest n messages of a room, oldest first, for the
	// history sent on join.
	Latest(ctx context.Context, room string, n int) ([]Message, error)
	// Replace swaps the stored stanza of one message (a moderation leaves a
	// tombstone in its place); false when there is no such message.
	Replace(ctx context.Context, room, id string, stanza []byte) (bool, error)
	// Expire deletes archived messages older than before and tombstones
	// whose time has passed; it returns how many messages went.
	Expire(ctx context.Context, before time.Time) (int64, error)

	Close() error

	// Get returns one archived message of a room by its archive id, or nil
	// when the room has no such message (a moderator may retract any
	// message still in the archive, XEP-0425).
	Get(ctx context.Context, room, id string) (*Message, error)
	// Bounds returns the oldest and the newest message of a room's archive
	// (XEP-0313 archive metadata), both nil when it is empty.
	Bounds(ctx context.Context, room string) (first, last *Message, err error)
}

// LiveSession is one occupant session of a live room: a full JID in the
// room under a nick.
type LiveSession struct {
	FullJID string
	Nick    string
	Role    string
	// Presence is the last presence the session sent, as the room
	// broadcasts it, encoded as XML; nil when there is none to keep.
	Presence []byte
	// Joined is kept to the millisecond.
	Joined time.Time
}

// LiveRoom is the live state of one room: its occupants' sessions and, for
// a temporary room, the room itself, which is stored nowhere else.
type LiveRoom struct {
	JID       string
	Temporary bool
	// Data is the record of a temporary room (configuration, subject,
	// history, ...), opaque to the store as RoomState.Data is; nil for a
	// persistent room, whose record UpdateRoom keeps.
	Data json.RawMessage
	// Affiliations are a temporary room's; a persistent room's are kept by
	// UpdateRoom, so leave them nil.
	Affiliations []Affiliation
	// Sessions come back from LoadLive in the order SaveLive was given
	// them. A full JID appears at most once.
	Sessions []LiveSession
}

// LiveStore keeps the live state of rooms, so that a restarted Chorus, or a
// standby taking over, puts every occupant back where they were. Both
// backends implement it.
//
// It stands apart from Store so that wrappers and stubs of Store keep
// building; a Store opened by Open is a LiveStore.
type LiveStore interface {
	// SaveLive replaces, in one transaction, the whole live state of each
	// room of batch and deletes that of the rooms named in gone. A room
	// without sessions leaves the live state. When a room comes more than
	// once in batch the last one counts; a room both in batch and in gone
	// ends up as batch has it. Made for a write-behind batcher: one call
	// for many rooms.
	SaveLive(ctx context.Context, batch []LiveRoom, gone []string) error
	// LoadLive returns the live state of every room, in JID order.
	LoadLive(ctx context.Context) ([]LiveRoom, error)
}
