#!/usr/bin/python3
"""Writes a throwaway Gajim 1.7 profile: settings.sqlite (Gajim's own
schema) with one active account whose password is kept in the profile.

Usage: seed_profile.py PROFILE_DIR USER DOMAIN PASSWORD"""
import json, sqlite3, sys, os
from gajim.common.settings import CREATE_SQL

root, user, domain, password = sys.argv[1:5]
os.makedirs(root, exist_ok=True)
path = os.path.join(root, 'settings.sqlite')
if os.path.exists(path):
    os.unlink(path)
con = sqlite3.connect(path)
con.executescript(CREATE_SQL)
app = {
    'use_keyring': False,          # no secret service under Xvfb: keep the password in the profile
    'check_for_update': False,
    'show_help_start_chat': False,
}
con.execute("UPDATE settings SET settings=? WHERE name='app'", (json.dumps(app),))
account = {'account': {
    'name': user, 'hostname': domain, 'password': password, 'savepass': True,
    'resource': 'gajim', 'account_label': f'{user}@{domain}', 'active': True,
}, 'contact': {}, 'group_chat': {}}
con.execute('INSERT INTO account_settings(account, settings) VALUES(?, ?)',
            (f'{user}@{domain}', json.dumps(account)))
con.commit()
con.close()
os.chmod(path, 0o600)
