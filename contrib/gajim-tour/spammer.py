#!/usr/bin/python3
"""The other occupant of the Gajim tour: joins the room, waits for the
administrator, posts a greeting and a spam message, and prints what it
sees of the administrator's actions (the retraction, the announcement,
its own removal). Needs Debian's python3-slixmpp."""
import argparse
import asyncio
import sys

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_RETRACT_1 = '{urn:xmpp:message-retract:1}retract'
NS_APPLY_TO = '{urn:xmpp:fasten:0}apply-to'
NS_MODERATED_0 = '{urn:xmpp:message-moderate:0}moderated'
NS_STANZA_ID = '{urn:xmpp:sid:0}stanza-id'


def say(*args):
    print('spammer:', *args, flush=True)


class Spammer(slixmpp.ClientXMPP):
    def __init__(self, a):
        super().__init__(a.jid, a.password)
        self.a = a
        self.posted = False
        self.register_plugin('xep_0045')
        self.add_event_handler('session_start', self.start)
        # Every groupchat message, with or without a body: a retraction has none.
        self.register_handler(Callback('groupchat', MatchXPath('{jabber:client}message'), self.on_message))
        self.add_event_handler('muc::%s::got_online' % a.room, self.on_online)
        self.add_event_handler('muc::%s::got_offline' % a.room, self.on_offline)

    async def start(self, _):
        self.send_presence()
        await self.plugin['xep_0045'].join_muc_wait(self.a.room, self.a.nick, maxchars=0)
        say('joined', self.a.room, 'as', self.a.nick)

    def on_online(self, presence):
        nick = presence['muc']['nick']
        if nick == self.a.wait_for and not self.posted:
            self.posted = True
            say(nick, 'is here; posting')
            asyncio.get_event_loop().call_later(3, self.post)

    def post(self):
        for body in self.a.say:
            self.send_message(mto=self.a.room, mbody=body, mtype='groupchat')

    def on_offline(self, presence):
        if presence['muc']['nick'] != self.a.nick:
            return
        codes = [c for c in presence['muc']['status_codes']]
        say('removed from the room, status codes', codes)
        self.disconnect()

    def on_message(self, msg):
        if msg['type'] != 'groupchat':
            return
        x = msg.xml
        apply_to = x.find(NS_APPLY_TO)
        retract = x.find(NS_RETRACT_1)
        if apply_to is not None and apply_to.find(NS_MODERATED_0) is not None:
            m = apply_to.find(NS_MODERATED_0)
            say('saw the retraction (XEP-0425 v0.2) of message', apply_to.get('id'),
                'by', m.get('by'), 'reason:', m.findtext('{urn:xmpp:message-moderate:0}reason'))
        if retract is not None:
            say('saw the retraction (XEP-0425 v1) of message', retract.get('id'))
        if msg['body']:
            sid = x.find(NS_STANZA_ID)
            say('message from', msg['from'].resource or '(the room)', repr(msg['body']),
                'stanza-id', sid.get('id') if sid is not None else None)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--jid', required=True)
    p.add_argument('--password', required=True)
    p.add_argument('--room', required=True)
    p.add_argument('--nick', default='spammer')
    p.add_argument('--server', default='127.0.0.1:5222')
    p.add_argument('--ca', help='certificate to trust (the sandbox\'s self-signed one)')
    p.add_argument('--wait-for', default='alice', help='post once this nick is in the room')
    p.add_argument('--say', action='append', default=[])
    a = p.parse_args()
    xmpp = Spammer(a)
    if a.ca:
        xmpp.ca_certs = a.ca
    host, port = a.server.rsplit(':', 1)
    xmpp.connect((host, int(port)))
    xmpp.loop.run_until_complete(xmpp.disconnected)


if __name__ == '__main__':
    sys.exit(main())
