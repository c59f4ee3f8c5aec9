package room

// XEP-0045 §10.1.1: a new room is locked until its owner submits the
// configuration form (an empty form makes an instant room); others who try
// to enter meanwhile get item-not-found.
var lockFeature = feature{
	name:    "lock",
	created: func(r *Room, j *joinAttempt) { r.locked = true },
	preJoin: func(r *Room, j *joinAttempt) *stanzaError {
		if r.locked && !j.newRoom {
			return errItemNotFound.withText("This room is locked until its owner configures it")
		}
		return nil
	},
	configSubmitted: func(r *Room, next *Config) { r.locked = false },
}
