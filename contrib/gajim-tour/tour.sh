#!/bin/bash
# A manual tour of Chorus's administration from a real XMPP client: Gajim
# (Debian 12's 1.7) under Xvfb, driven with xdotool, joins a room of a
# `chorus sandbox`, retracts a spam message (XEP-0425) and runs the
# service administrators' ad-hoc commands (XEP-0050); a second client
# (spammer.py, slixmpp) posts the spam and reports what it sees.
# Screenshots go to OUT (default docs/admin). Not part of CI.
#
# Needs (Debian 12): gajim xvfb xdotool imagemagick x11-utils python3-slixmpp
# prosody, and either CHORUS=/path/to/chorus or Go to build it.
#   apt-get install gajim xvfb xdotool imagemagick x11-utils python3-slixmpp prosody
# Gajim refuses to run as root: as root, the script runs it as "nobody".
# Usage: contrib/gajim-tour/tour.sh [OUT]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-$repo/docs/admin}")
display=${TOUR_DISPLAY:-:42}
room=lobby@conference.localhost

missing=()
for tool in gajim Xvfb xdotool import convert xwininfo prosody; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || missing+=(python3-slixmpp)
if ((${#missing[@]})); then
	echo "tour: missing ${missing[*]}; on Debian 12:" >&2
	echo "  apt-get install gajim xvfb xdotool imagemagick x11-utils python3-slixmpp prosody" >&2
	exit 2
fi

work=$(mktemp -d /tmp/chorus-gajim-tour.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	# Chorus's sandbox cleans up after SIGINT; Gajim ignores SIGTERM.
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	sleep 2
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${CHORUS:-}" ]; then
	echo "tour: building chorus"
	(cd "$repo" && go build -o "$work/chorus" ./cmd/chorus)
	CHORUS=$work/chorus
fi

log() { echo "tour: $*"; }
die() {
	echo "tour: $*" >&2
	exit 1
}

# wait_for DESCRIPTION COMMAND...: retries COMMAND for up to 30 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 60); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	die "timed out waiting for $what"
}

export DISPLAY=$display
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
wait_for "Xvfb" xdpyinfo

(cd "$work" && exec "$CHORUS" sandbox >"$work/sandbox.out" 2>"$work/sandbox.err") &
pids+=($!)
wait_for "the sandbox" grep -q "Ctrl-C stops" "$work/sandbox.out"
sandbox_dir=$(grep -o '/tmp/chorus-sandbox-[0-9]*' "$work/sandbox.out" | head -1)
c2s=$(awk '/^  Server /{print $2}' "$work/sandbox.out")
alice_pw=$(awk '$1 == "Accounts" && $2 == "alice@localhost" {print $4}' "$work/sandbox.out")
bob_pw=$(awk '$1 == "bob@localhost" {print $3}' "$work/sandbox.out")
[ -n "$alice_pw" ] && [ -n "$bob_pw" ] || die "cannot read the sandbox's accounts: $(cat "$work/sandbox.out")"
[ "$c2s" = 127.0.0.1:5222 ] || die "the sandbox's client port is $c2s, not 5222 (another server listens there?): Gajim would need a custom host"
cp "$sandbox_dir/tls/localhost.crt" "$work/ca.crt"
log "sandbox up: alice (service administrator) and bob on $c2s"

# Gajim's throwaway profile: settings.sqlite with alice's account, and the
# sandbox's self-signed certificate in its trust store.
profile=$work/gajim
mkdir -p "$profile/cert_store"
cp "$work/ca.crt" "$profile/cert_store/sandbox.pem"
as_user=()
if [ "$(id -u)" = 0 ]; then
	chown -R nobody:nogroup "$profile"
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
(cd / && "${as_user[@]}" env HOME="$profile" /usr/bin/python3 "$here/seed_profile.py" "$profile" alice localhost "$alice_pw")

/usr/bin/python3 "$here/spammer.py" --jid bob@localhost --password "$bob_pw" --room "$room" --nick bob \
	--server "$c2s" --ca "$work/ca.crt" --wait-for alice \
	--say "Hello everyone" --say "BUY CHEAP WATCHES NOW at http://spam.example" >"$work/spammer.log" 2>&1 &
pids+=($!)
wait_for "bob in the room" grep -q "joined" "$work/spammer.log"

(cd / && exec "${as_user[@]}" env -i HOME="$profile" DISPLAY="$display" PATH=/usr/bin:/bin LANG=C.UTF-8 \
	XDG_RUNTIME_DIR="$profile" gajim --config-path "$profile" >"$work/gajim.log" 2>&1) &
pids+=($!)

# The main window is the 1000x500 one named Gajim.
main_window() {
	local w
	for w in $(xdotool search --name '^Gajim$'); do
		if xwininfo -id "$w" | grep -q 'Map State: IsViewable' && [ "$(xdotool getwindowgeometry "$w" | awk '/Geometry/{print $2}')" != 16x16 ] &&
			[ "$(xdotool getwindowgeometry "$w" | awk '/Geometry/{split($2,a,"x"); print (a[1] > 500)}')" = 1 ]; then
			echo "$w"
			return 0
		fi
	done
	return 1
}
wait_for "Gajim's window" main_window
main=$(main_window)
xdotool windowsize "$main" 1280 800
# Online: the account's avatar has its green dot once connected.
sleep 8

mkdir -p "$out"
n=0
# shot NAME [WINDOW]: saves OUT/NN-NAME.png, of the screen or one window.
shot() {
	n=$((n + 1))
	local f
	f=$(printf '%s/%02d-%s.png' "$out" "$n" "$1")
	sleep 1
	import -window "${2:-root}" "$work/shot.png"
	convert "$work/shot.png" -strip -define png:compression-level=9 "$f"
	log "screenshot $f"
}
window() { xdotool search --name "$1" | tail -1; }
# click WINDOW X Y: a click at a point of the window.
click() {
	xdotool mousemove --window "$1" "$2" "$3" click 1
	sleep 1
}
# type_into WINDOW X Y TEXT: focus the window, click the field, type.
type_into() {
	xdotool windowfocus --sync "$1"
	click "$1" "$2" "$3"
	xdotool type --delay 25 "$4"
}

# 1. Join the room: Start Chat (Ctrl+N), the room's address, Enter.
xdotool windowfocus --sync "$main"
xdotool key ctrl+n
wait_for "the Start Chat window" window 'Start / Join Chat'
start=$(window 'Start / Join Chat')
type_into "$start" 180 34 "$room"
sleep 1
xdotool key Return
sleep 3
shot join
click "$start" 397 564 # Join
wait_for "the spam" grep -q "BUY CHEAP" "$work/spammer.log"
xdotool mousemove 1200 600
shot room

# 2. Retract the spam: the message's "..." menu, Retract..., a reason.
spam_y=358
xdotool mousemove 700 $spam_y
sleep 1
xdotool mousemove 1043 $spam_y click 1
sleep 1
shot moderate-menu
xdotool mousemove 858 383 click 1 # Retract...
wait_for "the Retract Message dialog" window 'Retract Message'
shot retract-reason
xdotool mousemove 725 474 click 1 # Retract (the reason given: Spam)
wait_for "the retraction to reach bob" grep -q "saw the retraction" "$work/spammer.log"
xdotool mousemove 1200 600
shot retracted

# 3. The service's commands: Accounts > Discover Services..., Chorus,
# Command.
xdotool mousemove 92 12 click 1
sleep 1
xdotool mousemove 150 112 click 1
wait_for "the service browser" window '^Browsing localhost'
browser=$(window '^Browsing localhost')
click "$browser" 170 205 # the Chorus row
shot discover
click "$browser" 155 514 # Command
wait_for "the command list" window '^Command List$'
adhoc=$(window '^Command List$')
xdotool windowmove "$adhoc" 290 20
xdotool windowsize "$adhoc" 700 760
sleep 1
shot commands "$adhoc"

# Commands are listed 33 pixels apart; a double click runs one.
run_command() {
	xdotool mousemove --window "$adhoc" 80 $((84 + 33 * $1)) click --repeat 2 --delay 80 1
	wait_for "the command's page" sh -c "xdotool getwindowname $adhoc | grep -Eq '^(Stage|Completed)$'"
	sleep 1
}
complete() {
	click "$adhoc" 627 718
	wait_for "the result" sh -c "xdotool getwindowname $adhoc | grep -q '^Completed$'"
}
back_to_commands() {
	click "$adhoc" 621 718
	wait_for "the command list" sh -c "xdotool getwindowname $adhoc | grep -q '^Command List$'"
}

run_command 0 # List rooms
shot list-rooms "$adhoc"
back_to_commands

run_command 1 # Room information
type_into "$adhoc" 400 105 "$room"
shot room-information-form "$adhoc"
complete
shot room-information "$adhoc"
back_to_commands

run_command 6 # Announce to all rooms
type_into "$adhoc" 400 150 "Maintenance tonight at 22:00 UTC: the rooms will be back within minutes."
shot announce-form "$adhoc"
complete
wait_for "the announcement to reach bob" grep -q "Maintenance tonight" "$work/spammer.log"
shot announce-done "$adhoc"
back_to_commands

run_command 4 # Ban from the service
type_into "$adhoc" 400 150 "bob@localhost"
type_into "$adhoc" 400 196 "Spam"
shot ban-form "$adhoc"
complete
wait_for "bob's removal" grep -q "removed from the room" "$work/spammer.log"
shot ban-done "$adhoc"

# Close the command window and the browser: the room shows what the
# other occupants saw.
xdotool windowfocus --sync "$adhoc"
xdotool key Escape
sleep 1
xdotool windowfocus --sync "$browser"
xdotool key Escape
sleep 2
xdotool mousemove 1200 600
shot room-after

log "what the other client saw:"
cat "$work/spammer.log"
# Expected: Gajim 1.7.3 fails to draw the announcement, a message from the
# room itself (ChatControl._on_gc_message_received, an empty nick).
if grep -q Traceback "$work/gajim.log"; then
	log "Gajim reported errors:"
	grep -B2 -A25 Traceback "$work/gajim.log"
fi
log "done: screenshots in $out"
