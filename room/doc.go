// Package room is the Multi-User Chat state machine of XEP-0045: a Registry
// of rooms by bare JID, each room a mutex-guarded value that takes one
// stanza and returns the stanzas to send ([]Out). It never touches the
// network, so every rule can be tested by feeding stanzas in and reading
// stanzas out.
//
// Everything that changes a room (a stanza, the admin destroy, shutdown,
// eviction, a ghost check, a timer) goes through one transaction,
// Registry.transact over Room.run: find or load the room, lock it, run one
// handler, make the change durable, collect the stanzas to send and the
// archive writes, let the room leave memory when it should. A room is
// loading, live, evicting or destroyed (registry.go says what each means).
//
// room/ waits on the store (store.Store, each call bounded by storeTimeout)
// in these places only, never under the registry's lock and never under a
// room's lock:
//   - loading a room that is not in memory, and dropping a tombstone
//     (registry.go): only stanzas for that room wait;
//   - a change's durable write (persist.go, txn.go): under the room's writer
//     lock, so only the room's later changes wait; its reads go on;
//   - background retries of a failed write (persist.go, flushLoop);
//   - archive queries and the moderation look-up (mam.go, moderation.go),
//     which wait for the archive queue (archive.go) and read the store;
//   - the public room list, the admin room list and archive expiry
//     (registry.go), which involve no room lock at all;
//   - the live state (live.go): its write-behind and Restore, which copy
//     a room under its lock and call the store without it.
//
// Live state (Options.Live) keeps who is in which room, so that a restart
// keeps everyone in their rooms. A transaction that changes who is
// present, under which nick, role or presence (or, in a temporary room,
// which only memory and the live state hold, its record, affiliations or
// history) only marks its room (Room.run); every LiveInterval one writer saves the marked rooms in one
// SaveLive, so the stored occupancy is at most LiveInterval plus one write
// behind, and a failed write leaves its rooms marked for the next round.
// Registry.Restore puts the stored rooms back, live, before the link is
// up; Shutdown in the default "keep" mode writes every room and sends
// nothing, in "kick" mode it sends status 332 and clears the live state.
//
// Each feature of a room lives in a file of its own (password.go,
// membersonly.go, lock.go, whois.go, ...) as a set of hooks on the room's
// events, after Prosody's MUC events: creating the room, entering it,
// changing nick, the configuration form, a submitted and an applied
// configuration, invitations, disco#info and the payloads of presences
// and messages. One table, features.go, fixes the order in which features
// act on each event, and so the order of refusals; join.go, config.go and
// invite.go keep only the generic flow.
package room
