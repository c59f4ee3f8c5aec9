package main

import (
	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/room"
	"chorus/store"
)

// newHandler returns the service's stanza handler, the router in front of
// the room registry, the registry so main can close it, and the block
// lists it follows (nil without CHORUS_RTBL) for the metrics. raw is the
// store st wraps (for metrics), asked for what only it has: the
// service-wide bans and the archive purge.
func newHandler(cfg config, st, raw store.Store, log zerolog.Logger) (component.Handler, *room.Registry, *component.Blocklist) {
	bans, _ := raw.(store.BanStore)
	purger, _ := raw.(store.Purger)
	var bl *component.Blocklist
	var listed room.Blocklist // a nil *Blocklist in it would not be a nil interface
	if len(cfg.rtbl) > 0 {
		bl = component.NewBlocklist(cfg.rtbl)
		listed = bl
	}
	// Who is in which room outlives a restart when the store keeps it
	// (both backends do; the metrics wrapper passes it on).
	live, _ := st.(store.LiveStore)
	reg := room.NewRegistry(room.Options{
		Live:                  live,
		Bans:                  bans,
		Purger:                purger,
		Blocklist:             listed,
		OnStop:                cfg.OnStop,
		Domain:                cfg.Domain,
		Admins:                cfg.Admins,
		Creation:              cfg.Creation,
		LocalDomain:           cfg.localDomain(),
		Store:                 st,
		ArchiveExpiry:         cfg.expiry,
		EnforceRegisteredNick: cfg.EnforceNick,
		OnStoreError: func(err error) {
			log.Error().Err(err).Msg("store error")
		},
		Limits: room.Limits{
			MessageRate: cfg.MsgRate, MessageBurst: cfg.MsgBurst,
			PresenceRate: cfg.PresenceRate, PresenceBurst: cfg.PresenceBurst,
			MaxNick: cfg.MaxNick, MaxSubject: cfg.MaxSubject, MaxBody: cfg.MaxBody,
			RoomsPerUser: cfg.RoomsPerUser, MaxOccupants: cfg.MaxOccupants,
			HistoryBytes: cfg.HistoryBytes, HistoryBudget: cfg.HistoryBudget,
			VoiceRequestInterval: cfg.VoiceInterval,
		},
	})
	return component.NewRouter(cfg.Domain, reg).WithBlocklist(bl, log), reg, bl
}
