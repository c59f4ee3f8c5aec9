package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"chorus/cmd/chorus/adminapi"
	"chorus/room"
)

// defaultAdminSocket is CHORUS_ADMIN_SOCKET's default.
const defaultAdminSocket = "chorus-admin.sock"

const adminUsage = `Usage: chorus admin COMMAND [ARGS] [--json]

Asks the running Chorus, through its admin socket ($CHORUS_ADMIN_SOCKET,
default ` + defaultAdminSocket + ` in its working directory), to act on its rooms.
Occupants are told of every change as if a room owner made it.

  rooms                              every room: name, flags, occupants, last message
  room ROOM                          one room: configuration, affiliations, occupants
  create ROOM --owner JID [--name N] [--persistent] [--public] [--members-only]
                                     an unlocked room (it must be --persistent)
  destroy ROOM [--reason R] [--alt ROOM2]
  affiliation ROOM JID owner|admin|member|outcast|none [--reason R]
  kick ROOM NICK [--reason R]
  ban JID|DOMAIN [--reason R]         keep a user or a domain out of every room
  unban JID|DOMAIN
  bans                               the service-wide bans
  say ROOM TEXT | say --all TEXT     a message from the room itself
  purge ROOM [--before DATE]         delete archived messages (before DATE, else all)
  unused --days N [--destroy]        persistent rooms without a message for N days

--json prints the raw result. Exit status: 0 done, 1 the operation failed
or Chorus could not be reached, 2 a usage error.
`

// adminSpec is one command line: its positional arguments (a name ending
// in "..." takes the rest) and its flags (true: takes a value).
type adminSpec struct {
	pos   []string
	flags map[string]bool
}

var adminSpecs = map[string]adminSpec{
	"rooms":       {},
	"room":        {pos: []string{"ROOM"}},
	"create":      {pos: []string{"ROOM"}, flags: map[string]bool{"owner": true, "name": true, "persistent": false, "public": false, "members-only": false}},
	"destroy":     {pos: []string{"ROOM"}, flags: map[string]bool{"reason": true, "alt": true}},
	"affiliation": {pos: []string{"ROOM", "JID", "AFFILIATION"}, flags: map[string]bool{"reason": true}},
	"kick":        {pos: []string{"ROOM", "NICK"}, flags: map[string]bool{"reason": true}},
	"ban":         {pos: []string{"JID"}, flags: map[string]bool{"reason": true}},
	"unban":       {pos: []string{"JID"}},
	"bans":        {},
	"say":         {pos: []string{"ROOM", "TEXT..."}, flags: map[string]bool{"all": false}},
	"purge":       {pos: []string{"ROOM"}, flags: map[string]bool{"before": true}},
	"unused":      {flags: map[string]bool{"days": true, "destroy": false}},
}

// usageError marks a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// parseAdmin reads a command line: positionals, and flags anywhere
// (--name value, --name=value; "--" ends them).
func parseAdmin(cmd string, args []string) (pos []string, flags map[string]string, err error) {
	spec, ok := adminSpecs[cmd]
	if !ok {
		return nil, nil, usagef("unknown command %q", cmd)
	}
	flags = map[string]string{}
	noFlags := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if noFlags || !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		if a == "--" {
			noFlags = true
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takes, known := spec.flags[name]
		switch {
		case name == "json" && !hasValue:
			flags["json"] = "true"
			continue
		case !known:
			return nil, nil, usagef("%s: unknown flag %s", cmd, a)
		case takes && !hasValue:
			if i+1 >= len(args) {
				return nil, nil, usagef("%s: %s needs a value", cmd, a)
			}
			i++
			value = args[i]
		case !takes && hasValue:
			return nil, nil, usagef("%s: %s takes no value", cmd, a)
		case !takes:
			value = "true"
		}
		flags[name] = value
	}
	want := spec.pos
	if cmd == "say" && flags["all"] != "" {
		want = want[1:]
	}
	rest := len(want) > 0 && strings.HasSuffix(want[len(want)-1], "...")
	switch {
	case len(pos) < len(want):
		return nil, nil, usagef("%s: missing %s", cmd, strings.TrimSuffix(want[len(pos)], "..."))
	case len(pos) > len(want) && !rest:
		return nil, nil, usagef("%s: unexpected argument %q", cmd, pos[len(want)])
	case rest:
		pos = append(pos[:len(want)-1], strings.Join(pos[len(want)-1:], " "))
	}
	return pos, flags, nil
}

// adminRequest turns a command line into the socket's arguments.
func adminRequest(cmd string, pos []string, f map[string]string) (adminapi.Args, error) {
	var a adminapi.Args
	switch cmd {
	case "room", "destroy", "kick", "purge", "create", "affiliation":
		a.Room = pos[0]
	case "ban", "unban":
		a.JID = pos[0]
	}
	a.Reason, a.Alt, a.Name, a.Owner = f["reason"], f["alt"], f["name"], f["owner"]
	a.Persistent, a.Public, a.MembersOnly = f["persistent"] != "", f["public"] != "", f["members-only"] != ""
	a.Destroy, a.All = f["destroy"] != "", f["all"] != ""
	switch cmd {
	case "create":
		if a.Owner == "" {
			return a, usagef("create: --owner JID is required")
		}
	case "affiliation":
		a.JID, a.Affiliation = pos[1], pos[2]
		switch a.Affiliation {
		case "owner", "admin", "member", "outcast", "none":
		default:
			return a, usagef("affiliation: %q is not owner, admin, member, outcast or none", a.Affiliation)
		}
	case "kick":
		a.Nick = pos[1]
	case "say":
		if a.All {
			a.Text = pos[0]
		} else {
			a.Room, a.Text = pos[0], pos[1]
		}
		if strings.TrimSpace(a.Text) == "" {
			return a, usagef("say: the text is empty")
		}
	case "purge":
		if b := f["before"]; b != "" {
			t, err := adminapi.ParseTime(b)
			if err != nil {
				return a, usagef("purge: --before: %v", err)
			}
			a.Before = t.Format(time.RFC3339Nano) // as precise as given
		}
	case "unused":
		n, err := strconv.Atoi(f["days"])
		if err != nil || n < 1 {
			return a, usagef("unused: --days N is required, N a whole number of days of at least 1")
		}
		a.Days = n
	}
	return a, nil
}

// admin runs "chorus admin".
func admin(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fmt.Fprint(stdout, adminUsage)
		return 0
	}
	cmd, path := args[0], ""
	pos, flags, err := parseAdmin(cmd, args[1:])
	var a adminapi.Args
	if err == nil {
		a, err = adminRequest(cmd, pos, flags)
	}
	if err != nil {
		fmt.Fprintf(stderr, "chorus admin: %v: see chorus admin -h\n", err)
		return 2
	}
	if path = envOr("CHORUS_ADMIN_SOCKET", defaultAdminSocket); path == "" {
		fmt.Fprintln(stderr, "chorus admin: CHORUS_ADMIN_SOCKET is empty, so Chorus serves no admin socket")
		return 2
	}
	res, err := adminapi.Call(path, cmd, a)
	if err != nil {
		fmt.Fprintf(stderr, "chorus admin %s: %v\n", cmd, err)
		return 1
	}
	if flags["json"] != "" {
		fmt.Fprintf(stdout, "%s\n", res)
		return 0
	}
	if err := printAdmin(stdout, cmd, res); err != nil {
		fmt.Fprintf(stderr, "chorus admin %s: unexpected answer: %v\n", cmd, err)
		return 1
	}
	return 0
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printAdmin prints a result as a table or a few lines.
func printAdmin(w io.Writer, cmd string, res json.RawMessage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch cmd {
	case "rooms":
		var rooms []room.RoomInfo
		if err := json.Unmarshal(res, &rooms); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ROOM\tNAME\tPERSISTENT\tPUBLIC\tMEMBERS-ONLY\tOCCUPANTS\tLAST MESSAGE")
		for _, r := range rooms {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.JID, orDash(r.Name), yesNo(r.Persistent), yesNo(r.Public),
				yesNo(r.MembersOnly), r.Occupants, when(r.LastMessage))
		}
	case "room":
		var d room.RoomDetail
		if err := json.Unmarshal(res, &d); err != nil {
			return err
		}
		fmt.Fprintf(tw, "room\t%s\nname\t%s\npersistent\t%s\npublic\t%s\nmembers-only\t%s\nmoderated\t%s\npassword\t%s\nsubject\t%s\nlast message\t%s\n\n",
			d.JID, orDash(d.Name), yesNo(d.Persistent), yesNo(d.Public), yesNo(d.MembersOnly), yesNo(d.Config.Moderated),
			yesNo(d.PasswordProtected), orDash(d.Subject), when(d.LastMessage))
		fmt.Fprintln(tw, "AFFILIATION\tJID\tNICK\tREASON")
		for _, a := range d.Affiliations {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Affiliation, a.JID, orDash(a.Nick), orDash(a.Reason))
		}
		fmt.Fprintln(tw, "\nNICK\tJID\tROLE\tAFFILIATION\tSESSIONS")
		for _, o := range d.Occupants {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Nick, o.JID, o.Role, o.Affiliation, strings.Join(o.Sessions, " "))
		}
	case "bans":
		var bans []room.ServiceBan
		if err := json.Unmarshal(res, &bans); err != nil {
			return err
		}
		fmt.Fprintln(tw, "JID\tSINCE\tREASON")
		for _, b := range bans {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", b.JID, when(b.At), orDash(b.Reason))
		}
	case "purge":
		var p adminapi.Purged
		if err := json.Unmarshal(res, &p); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%d archived messages deleted\n", p.Messages)
	case "unused":
		var u adminapi.UnusedRooms
		if err := json.Unmarshal(res, &u); err != nil {
			return err
		}
		verb := "unused"
		if u.Destroyed {
			verb = "destroyed"
		}
		fmt.Fprintf(tw, "%d rooms %s\n", len(u.Rooms), verb)
		for _, r := range u.Rooms {
			fmt.Fprintln(tw, r)
		}
	case "create":
		fmt.Fprintln(tw, "created")
	case "unban":
		fmt.Fprintln(tw, "unbanned")
	default:
		var s adminapi.Sent
		if err := json.Unmarshal(res, &s); err != nil {
			return err
		}
		fmt.Fprintf(tw, "done, %d stanzas sent\n", s.Stanzas)
	}
	return nil
}
