-- mod_chorus_multicast: a XEP-0033 (Extended Stanza Addressing) multicast
-- service for Prosody 0.12, made for Chorus, the Multi-User Chat component.
--
-- Chorus sends a room's message or presence for many occupants ONCE, to
-- this service, with one <address type='bcc'/> per recipient; the service
-- delivers one copy per address, addressed to that recipient, WITHOUT the
-- <addresses/> element: no recipient ever learns the other addresses. So
-- Prosody parses one stanza from the component instead of one per occupant.
-- Chorus may also list the recipients in one element, their JIDs separated
-- by tabs (a JID cannot hold one), which Prosody parses several times
-- faster than an element per recipient:
--   <bcc xmlns='urn:chorus:multicast:bcc'>JID<TAB>JID...</bcc>
-- The service advertises that it takes it (disco feature of the same name);
-- the same rules hold for it as for <addresses/>.
--
-- Only the domains listed in chorus_multicast_from may use it: anyone
-- else gets auth/forbidden and nothing is delivered (an open multicast
-- service would let any user fan out spam). Prosody checks the 'from' of
-- everything a component, a client or a remote server sends, so the check
-- on the sender's domain cannot be dodged.
--
-- Installation:
--   1. Copy this file into a plugin directory, e.g.
--        /usr/local/lib/prosody/modules/mod_chorus_multicast.lua
--      and list that directory in the global section of prosody.cfg.lua:
--        plugin_paths = { "/usr/local/lib/prosody/modules" }
--   2. Add a component for the service, a subdomain of the VirtualHost,
--      so that it shows in the host's disco#items where Chorus looks:
--        Component "multicast.example.com" "chorus_multicast"
--            chorus_multicast_from = { "conference.example.com" }
--            -- chorus_multicast_max_addresses = 50
--   3. Reload or restart Prosody; Chorus (CHORUS_MULTICAST=auto, the
--      default) finds the service at its next connection and logs
--      "multicast: sending stanzas for several recipients once".
--
-- Options (on the Component):
--   chorus_multicast_from          domains allowed to send through the
--                                  service (Chorus's CHORUS_DOMAIN); empty
--                                  by default: nobody may.
--   chorus_multicast_max_addresses most addresses in one stanza (default
--                                  50; XEP-0033 §8 asks for more than 20
--                                  and less than 100). Advertised in
--                                  disco#info (XEP-0033 §2.3), so Chorus
--                                  sends batches within it.
--   chorus_multicast_read_size     bytes Prosody reads at a time from the
--                                  link of an allowed component (default
--                                  65536; 0 keeps Prosody's read_size, 8192).
--
-- Refusals (XEP-0033 §8), sent back to the sender, which for Chorus falls
-- back to one stanza per recipient:
--   auth/forbidden           the sender's domain is not allowed
--   modify/bad-request       no <addresses/> or bcc list, both, no address
--                            to deliver to, or an address without a valid
--                            JID
--   modify/not-acceptable    more addresses than the limit
-- A refusal to an allowed sender carries the <addresses/> or the bcc list
-- it refused, so the sender can tell which of its stanzas it was.

local st = require "util.stanza";
local jid_host = require "util.jid".host;

local xmlns_address = "http://jabber.org/protocol/address";
local xmlns_bcc_list = "urn:chorus:multicast:bcc";
local xmlns_disco_info = "http://jabber.org/protocol/disco#info";
local xmlns_disco_items = "http://jabber.org/protocol/disco#items";

if module:get_host_type() ~= "component" then
	error("mod_chorus_multicast is a component: load it as Component \"multicast."
		..module.host.."\" \"chorus_multicast\", not in modules_enabled", 0);
end

local allowed = module:get_option_set("chorus_multicast_from", {});
local max_addresses = module:get_option_number("chorus_multicast_max_addresses", 50);
if max_addresses < 1 then max_addresses = 1; end
local read_size = module:get_option_number("chorus_multicast_read_size", 65536);

if allowed:empty() then
	module:log("warn", "chorus_multicast_from is empty: every stanza will be refused");
end

-- Disco (XEP-0030), with the limits as XEP-0128 extended information
-- (XEP-0033 §2.3). Handled here rather than through mod_disco, which does
-- not load on components.
module:hook("iq/host", function (event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "get" then return; end
	local query = stanza.tags[1];
	if not query or query.name ~= "query" or (query.attr.node and query.attr.node ~= "") then return; end
	if query.attr.xmlns == xmlns_disco_info then
		local limit = tostring(max_addresses);
		module:send(st.reply(stanza):query(xmlns_disco_info)
			:tag("identity", { category = "service", type = "multicast", name = "Chorus multicast" }):up()
			:tag("feature", { var = xmlns_disco_info }):up()
			:tag("feature", { var = xmlns_disco_items }):up()
			:tag("feature", { var = xmlns_address }):up()
			-- Each copy is delivered before the next stanza from the
			-- component is read: Chorus may send a stanza for one
			-- recipient directly and its order still holds.
			:tag("feature", { var = "urn:chorus:multicast#in-order" }):up()
			-- The recipients may come as one bcc list.
			:tag("feature", { var = xmlns_bcc_list }):up()
			:tag("x", { xmlns = "jabber:x:data", type = "result" })
				:tag("field", { var = "FORM_TYPE", type = "hidden" }):text_tag("value", xmlns_address):up()
				:tag("field", { var = "message" }):text_tag("value", limit):up()
				:tag("field", { var = "presence" }):text_tag("value", limit):up());
		return true;
	elseif query.attr.xmlns == xmlns_disco_items then
		module:send(st.reply(stanza):query(xmlns_disco_items));
		return true;
	end
end, 10);

-- refuse answers stanza with an error; for an allowed sender the error
-- carries the refused <addresses/> or bcc list.
local function refuse(stanza, addresses, err_type, condition, text)
	local reply = st.error_reply(stanza, err_type, condition, text);
	if addresses then
		reply:reset():add_child(st.clone(addresses));
	end
	module:send(reply);
	return true;
end

-- addressed returns the JIDs of the XEP-0033 addresses to deliver to, or
-- nil when one of them has no valid JID.
local function addressed(addresses)
	local targets = {};
	for address in addresses:childtags("address", xmlns_address) do
		local t = address.attr.type;
		if address.attr.delivered ~= "true" and (t == "bcc" or t == "to" or t == "cc") then
			-- Not prepared again: only an allowed sender gets here, and
			-- Chorus addresses full JIDs that this server stamped, already
			-- prepared; a stringprep per copy was a fifth of what
			-- serialising the copy costs. The check keeps a JID without a
			-- host from reaching the router.
			local to = address.attr.jid;
			if not to or not jid_host(to) then return nil; end
			targets[#targets + 1] = to;
		end
	end
	return targets;
end

-- listed returns the JIDs of a bcc list, or nil when one of them has no
-- valid JID (as an empty one, between two tabs, has not) or the list holds
-- elements, not text alone. The same check as for an address; a JID in a
-- list costs Prosody a fraction of what parsing an <address/> element does.
local function listed(list)
	local targets = {};
	local text = list:get_text(); -- nil when the list holds an element
	if not text then return nil; end
	if text == "" then return targets; end
	for to in (text.."\t"):gmatch("([^\t]*)\t") do
		if not jid_host(to) then return nil; end
		targets[#targets + 1] = to;
	end
	return targets;
end

local function multicast(event)
	local stanza = event.stanza;
	-- RFC 6120 §8.3.1: an error is never answered with an error.
	if stanza.attr.type == "error" then return true; end

	local from_host = jid_host(stanza.attr.from);
	if not from_host or not allowed:contains(from_host) then
		module:log("debug", "Refused a stanza from %s: not in chorus_multicast_from", tostring(stanza.attr.from));
		return refuse(stanza, nil, "auth", "forbidden", "This multicast service is for the MUC component only");
	end

	-- Prosody reads 8 KiB from a connection per turn of its event loop and
	-- writes each client's pending stanzas at the end of the turn, one
	-- write (and two epoll changes) per client. A broadcast of 50 addresses
	-- is about 3 KiB, so 8 KiB hold one or two: one write per copy. Reading
	-- more of what Chorus has queued lets a turn handle several broadcasts
	-- and write each client's copies together, as Prosody's own MUC gets
	-- to when a sender's messages arrive together. Only for an allowed
	-- sender: nobody else's link is touched.
	local origin = event.origin;
	if read_size > 0 and origin.type == "component" and not origin.chorus_read_size
		and origin.conn and origin.conn.set_mode then
		origin.chorus_read_size = read_size;
		origin.conn:set_mode(read_size);
		module:log("info", "Reading the link of %s %d bytes at a time", tostring(origin.host), read_size);
	end

	local addresses = stanza:get_child("addresses", xmlns_address);
	local list = stanza:get_child("bcc", xmlns_bcc_list);
	if not addresses and not list then
		return refuse(stanza, nil, "modify", "bad-request", "No addresses element found");
	end
	if addresses and list then
		return refuse(stanza, addresses, "modify", "bad-request", "Both an addresses element and a bcc list");
	end
	local given = addresses or list; -- what a refusal carries back
	local targets;
	if list then
		targets = listed(list);
	else
		targets = addressed(addresses);
	end
	if not targets then
		return refuse(stanza, given, "modify", "bad-request", "An address without a valid JID");
	end
	if #targets == 0 then
		return refuse(stanza, given, "modify", "bad-request", "No address to deliver to");
	end
	if #targets > max_addresses then
		return refuse(stanza, given, "modify", "not-acceptable",
			"Too many receiver fields were specified (at most "..max_addresses..")");
	end

	-- The copies carry no <addresses/> (nor bcc list) at all: with only bcc
	-- addresses that is what XEP-0033 §4.6 asks, and for to/cc, which only
	-- an allowed sender can use here, it keeps every recipient's address
	-- private too.
	-- One copy serves every recipient, its 'to' set for each in turn, as
	-- Prosody's own MUC routes a broadcast (room_mt:route_to_occupant):
	-- whatever keeps a stanza past its delivery (stream management,
	-- offline storage, archives) clones or serialises it. A copy per
	-- recipient would cost more than the parsing multicast saves.
	local copy = st.clone(stanza);
	copy:remove_children("addresses", xmlns_address);
	copy:remove_children("bcc", xmlns_bcc_list);
	for _, to in ipairs(targets) do
		copy.attr.to = to;
		-- Routed as if the sender had sent it directly (XEP-0033 §3: the
		-- 'from' stays the sender's), in order, before the next stanza
		-- from the sender is read.
		module:send(copy);
	end
	return true;
end

module:hook("message/host", multicast);
module:hook("presence/host", multicast);
