package main

import (
	"chorus/component"
	"chorus/room"
)

// newHandler returns the service's stanza handler: the router in front of
// the room registry.
func newHandler(cfg config) component.Handler {
	reg := room.NewRegistry(room.Options{
		Domain:      cfg.Domain,
		Admins:      cfg.Admins,
		Creation:    cfg.Creation,
		LocalDomain: cfg.localDomain(),
	})
	return component.NewRouter(cfg.Domain, reg)
}
