-- Prosody with Chorus as its Multi-User Chat service, for
-- contrib/docker-compose.yml. ENV_NAME reads the environment variable NAME.

local domain = ENV_XMPP_DOMAIN or "localhost"

admins = { }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "dialback"; "disco";
	"carbons"; "pep"; "private"; "blocklist"; "vcard4"; "vcard_legacy";
	"version"; "uptime"; "time"; "ping"; "mam"; "smacks"; "csi_simple";
}

-- Accounts are made by the administrator:
--   docker compose exec prosody prosodyctl register alice DOMAIN PASSWORD
allow_registration = false

authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
s2s_require_encryption = true
certificates = "certs"

log = { { levels = { min = "info" }, to = "console" } }

-- Chorus connects from its own container, so the component listener must
-- accept more than loopback. Only the compose network reaches it (the port
-- is not published), and the shared secret guards it.
component_interfaces = { "*" }

-- mod_chorus_multicast, copied here by the Dockerfile (see the README's
-- "Server-side fan-out"): Chorus sends a broadcast once, Prosody copies it.
plugin_paths = { "/usr/local/lib/prosody/modules" }

VirtualHost(domain)

Component("conference." .. domain)
	component_secret = ENV_CHORUS_SECRET

-- XEP-0033 multicast for Chorus only.
Component("multicast." .. domain) "chorus_multicast"
	chorus_multicast_from = { "conference." .. domain }
