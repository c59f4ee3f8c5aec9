package room

import (
	"sort"
	"sync"

	"chorus/store"
)

// Service-wide bans: an operator keeps a user, or every user of a domain,
// out of every room of the service (Registry.Ban). A banned user is
// refused entry as a room's outcast is (XEP-0045 §7.2.8: forbidden), and
// is removed from the rooms it is in with status 301. Service
// administrators are never banned.

// serviceBans is the service's ban list, in memory; the store keeps it
// when it can (store.BanStore) and Registry.LoadBans reads it at start.
type serviceBans struct {
	mu sync.RWMutex
	m  map[string]store.ServiceBan // by bare JID or domain
}

// banned reports whether the user bare, or its domain, is banned.
func (b *serviceBans) banned(bare string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.m) == 0 {
		return false
	}
	_, user := b.m[bare]
	_, domain := b.m[domainOf(bare)]
	return user || domain
}

func (b *serviceBans) set(ban store.ServiceBan) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]store.ServiceBan{}
	}
	b.m[ban.JID] = ban
}

// remove drops the ban of jid and reports whether there was one.
func (b *serviceBans) remove(jid string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[jid]
	delete(b.m, jid)
	return ok
}

// list returns the bans in JID order.
func (b *serviceBans) list() []store.ServiceBan {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]store.ServiceBan, 0, len(b.m))
	for _, ban := range b.m {
		out = append(out, ban)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out
}

// serviceBanned reports whether a user may enter no room of the service.
func (svc *service) serviceBanned(bare string) bool {
	return !svc.admins[bare] && svc.bans.banned(bare)
}

// serviceBanFeature refuses users the service bans, in every room, as the
// room's own ban does; it also keeps them from creating rooms (preJoin
// runs for the join that creates a room).
var serviceBanFeature = feature{name: "service-ban", preJoin: func(r *Room, j *joinAttempt) *stanzaError {
	if r.svc.serviceBanned(j.req.bare) {
		r.svc.refusals.serviceBan.Add(1)
		return errForbidden.withText("You are banned from this service")
	}
	return nil
}}
