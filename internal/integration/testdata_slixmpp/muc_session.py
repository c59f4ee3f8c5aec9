#!/usr/bin/python3
"""Drive a Chorus room with two slixmpp clients.

Usage: muc_session.py HOST PORT OWNER_JID OTHER_JID ROOM_JID

The owner creates the room (an instant room), the other client joins, both
exchange groupchat messages, the other changes its nick and the owner kicks
it. One JSON object with the results goes to standard output; the exit
status is 0 only when every step worked, else 1 with the reason in
"error".
"""

import asyncio
import json
import logging
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError

NS_USER = "http://jabber.org/protocol/muc#user"
STEP_TIMEOUT = 15


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid):
        # The test server accepts any password.
        super().__init__(jid, "secret")
        for plugin in ("xep_0030", "xep_0004", "xep_0045", "xep_0199"):
            self.register_plugin(plugin)
        self["feature_mechanisms"].unencrypted_plain = True
        self.started = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self._start)
        self.add_event_handler("failed_auth", self._failed)
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.add_event_handler("groupchat_message", self.messages.put_nowait)
        self.add_event_handler("groupchat_presence", self.presences.put_nowait)

    async def _start(self, _):
        self.send_presence()
        if not self.started.done():
            self.started.set_result(True)

    def _failed(self, _):
        if not self.started.done():
            self.started.set_exception(RuntimeError("authentication failed for %s" % self.boundjid))


def muc_x(stanza):
    return stanza.xml.find("{%s}x" % NS_USER)


def codes(stanza):
    x = muc_x(stanza)
    if x is None:
        return set()
    return {int(s.get("code")) for s in x.findall("{%s}status" % NS_USER)}


def item(stanza):
    x = muc_x(stanza)
    return None if x is None else x.find("{%s}item" % NS_USER)


async def wait_for(queue, what, pred):
    """Take stanzas from queue until pred holds for one."""
    async def take():
        while True:
            st = await queue.get()
            if pred(st):
                return st
    try:
        return await asyncio.wait_for(take(), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise RuntimeError("timed out waiting for " + what) from None


async def step(what, coro):
    """Await coro, turning its failures into an error naming the step."""
    try:
        return await coro
    except (asyncio.TimeoutError, IqTimeout):
        raise RuntimeError(what + ": timed out") from None
    except IqError as e:
        raise RuntimeError("%s: %s" % (what, e.iq["error"])) from None
    except PresenceError as e:
        raise RuntimeError("%s: %s" % (what, e.presence["error"])) from None


async def scenario(host, port, owner_jid, other_jid, room, result):
    owner, other = Client(owner_jid), Client(other_jid)
    clients = (owner, other)
    try:
        for c in clients:
            c.connect((host, port), disable_starttls=True, force_starttls=False)
        for c in clients:
            try:
                await asyncio.wait_for(c.started, STEP_TIMEOUT)
            except asyncio.TimeoutError:
                raise RuntimeError("no session for %s on %s:%d" % (c.boundjid, host, port)) from None
        result["connected"] = True

        muc = owner.plugin["xep_0045"]
        pres, _subject, _occupants, _history = await step(
            "creating the room", muc.join_muc_wait(room, "Owner", maxstanzas=0, timeout=STEP_TIMEOUT))
        result["created"] = 201 in codes(pres)
        if not result["created"]:
            raise RuntimeError("no status 201 on creating the room: %s" % pres)
        # An empty submitted form makes an instant room.
        form = owner.plugin["xep_0004"].make_form(ftype="submit")
        await step("configuring the room", muc.set_room_config(room, form, timeout=STEP_TIMEOUT))
        result["configured"] = True

        pres, _subject, occupants, _history = await step("joining", other.plugin["xep_0045"].join_muc_wait(
            room, "Guest", maxstanzas=0, timeout=STEP_TIMEOUT))
        result["joined"] = pres["type"] != "error"
        result["occupants_seen_by_guest"] = sorted(p["from"].resource for p in occupants)
        guest_item = item(pres)
        # A semi-anonymous room shows the guest its own real JID only.
        result["guest_role"] = guest_item.get("role") if guest_item is not None else None
        await wait_for(owner.presences, "the guest's join", lambda p: p["from"].resource == "Guest")

        owner.send_message(mto=room, mbody="hello from the owner", mtype="groupchat")
        await wait_for(other.messages, "the owner's message",
                       lambda m: m["body"] == "hello from the owner" and m["from"].resource == "Owner")
        other.send_message(mto=room, mbody="hello from the guest", mtype="groupchat")
        await wait_for(owner.messages, "the guest's message",
                       lambda m: m["body"] == "hello from the guest" and m["from"].resource == "Guest")
        result["messages"] = True

        other.send_presence(pto="%s/Guest2" % room)
        change = await wait_for(owner.presences, "status 303",
                                lambda p: p["type"] == "unavailable" and 303 in codes(p))
        new_nick = item(change).get("nick") if item(change) is not None else None
        if change["from"].resource != "Guest" or new_nick != "Guest2":
            raise RuntimeError("303 presence names %s -> %s" % (change["from"].resource, new_nick))
        await wait_for(owner.presences, "the presence under the new nick",
                       lambda p: p["from"].resource == "Guest2" and p["type"] != "unavailable")
        result["nick_changed"] = True

        await step("kicking", muc.set_role(room, "Guest2", "none", reason="enough", timeout=STEP_TIMEOUT))
        kicked = await wait_for(other.presences, "status 307",
                                lambda p: p["type"] == "unavailable" and 307 in codes(p))
        result["kicked"] = 110 in codes(kicked)
        reason = item(kicked).find("{%s}reason" % NS_USER) if item(kicked) is not None else None
        result["kick_reason"] = reason.text if reason is not None else None
        if not result["kicked"]:
            raise RuntimeError("the kicked client got no self-presence: %s" % kicked)
        await wait_for(owner.presences, "the kick seen by the owner",
                       lambda p: p["from"].resource == "Guest2" and 307 in codes(p))
        result["ok"] = True
    finally:
        for c in clients:
            c.disconnect()


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, owner_jid, other_jid, room = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # slixmpp prints to standard output on its own; keep it for our JSON.
    out, sys.stdout = sys.stdout, sys.stderr
    result = {"ok": False, "slixmpp": slixmpp.__version__}
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(scenario(host, port, owner_jid, other_jid, room, result))
    except Exception as e:  # every failure is reported, not raised
        result["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(result, sort_keys=True), file=out)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
