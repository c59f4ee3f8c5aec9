// Package adminapi is the operators' API of a running Chorus: one JSON
// request per connection on a Unix socket that only the service's user
// may open (mode 0600), and the client "chorus admin" uses.
//
// A request is {"cmd":"rooms","args":{...}}; the answer is
// {"ok":true,"result":...} or {"ok":false,"error":"..."}. The commands
// and their arguments are those of Args; each maps to one operation of
// room.Registry, whose stanzas go out on the live component link. An
// operation that tells occupants something is refused while the link is
// down, before anything is changed.
package adminapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"chorus/affiliations"
	"chorus/room"
)

// Request is one operator's request.
type Request struct {
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Response answers a Request.
type Response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Args are the arguments of every command; each command reads those it
// names (see Commands) and refuses the others.
type Args struct {
	Room        string `json:"room,omitempty"`
	JID         string `json:"jid,omitempty"`
	Nick        string `json:"nick,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Name        string `json:"name,omitempty"`
	Persistent  bool   `json:"persistent,omitempty"`
	Public      bool   `json:"public,omitempty"`
	MembersOnly bool   `json:"members_only,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Alt         string `json:"alt,omitempty"`
	Affiliation string `json:"affiliation,omitempty"`
	Text        string `json:"text,omitempty"`
	All         bool   `json:"all,omitempty"`
	// Before is an RFC 3339 time or a date (2006-01-02, midnight UTC);
	// empty means now, for purge.
	Before  string `json:"before,omitempty"`
	Days    int    `json:"days,omitempty"`
	Destroy bool   `json:"destroy,omitempty"`
}

// Results of the commands that are not a room package type.
type (
	// Sent is the result of a command that only sends: how many stanzas
	// went out.
	Sent struct {
		Stanzas int `json:"stanzas"`
	}
	// Purged is the result of purge.
	Purged struct {
		Messages int `json:"messages"`
	}
	// UnusedRooms is the result of unused.
	UnusedRooms struct {
		Rooms     []string `json:"rooms"`
		Destroyed bool     `json:"destroyed"`
	}
)

// Commands lists each command with the arguments it takes.
var Commands = map[string][]string{
	"rooms":       {},
	"room":        {"room"},
	"create":      {"room", "owner", "name", "persistent", "public", "members_only"},
	"destroy":     {"room", "reason", "alt"},
	"affiliation": {"room", "jid", "affiliation", "reason"},
	"kick":        {"room", "nick", "reason"},
	"ban":         {"jid", "reason"},
	"unban":       {"jid"},
	"bans":        {},
	"say":         {"room", "all", "text"},
	"purge":       {"room", "before"},
	"unused":      {"days", "destroy"},
}

// Link is the component link the stanzas of an operation go out on
// (component.Sender).
type Link interface {
	Up() bool
	Send([]room.Out) error
}

// Server answers operators' requests about the rooms of a registry.
type Server struct {
	Rooms *room.Registry
	Link  Link
	Log   zerolog.Logger
	// Now is the clock for purge's default; time.Now when nil.
	Now func() time.Time
}

// maxRequest bounds one request.
const maxRequest = 1 << 20

// requestTimeout bounds reading a request and writing its answer.
const requestTimeout = 10 * time.Second

// Serve answers connections on ln until ctx ends, then closes ln and
// waits for the requests in progress.
func (s *Server) Serve(ctx context.Context, ln net.Listener) {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.Log.Error().Err(err).Msg("admin socket failed")
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(c)
		}()
	}
	wg.Wait()
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(requestTimeout))
	var req Request
	dec := json.NewDecoder(io.LimitReader(bufio.NewReader(c), maxRequest))
	dec.DisallowUnknownFields()
	var resp Response
	if err := dec.Decode(&req); err != nil {
		resp.Error = "malformed request: " + err.Error()
	} else {
		result, err := s.Do(req)
		ev := s.Log.Info()
		if err != nil {
			ev = s.Log.Warn().Err(err)
			resp.Error = err.Error()
		} else if resp.Result, err = json.Marshal(result); err != nil {
			resp.Error = err.Error()
		} else {
			resp.OK = true
		}
		ev.Str("cmd", req.Cmd).RawJSON("args", orEmpty(req.Args)).Msg("admin request")
	}
	c.SetWriteDeadline(time.Now().Add(requestTimeout))
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

func orEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return json.RawMessage("{}")
	}
	return b
}

// Do runs one request and returns its result.
func (s *Server) Do(req Request) (any, error) {
	allowed, ok := Commands[req.Cmd]
	if !ok {
		return nil, fmt.Errorf("unknown command %q", req.Cmd)
	}
	var a Args
	if len(req.Args) > 0 && string(req.Args) != "null" {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(req.Args, &fields); err != nil {
			return nil, fmt.Errorf("malformed args: %v", err)
		}
		for k := range fields {
			if !contains(allowed, k) {
				return nil, fmt.Errorf("%s takes no argument %q", req.Cmd, k)
			}
		}
		if err := json.Unmarshal(req.Args, &a); err != nil {
			return nil, fmt.Errorf("malformed args: %v", err)
		}
	}
	g := s.Rooms
	switch req.Cmd {
	case "rooms":
		return g.AdminRooms()
	case "room":
		return g.AdminRoom(a.Room)
	case "bans":
		return g.Bans()
	case "unban":
		return struct{}{}, g.Unban(a.JID)
	case "purge":
		before := s.now()
		if a.Before != "" {
			var err error
			if before, err = ParseTime(a.Before); err != nil {
				return nil, err
			}
		}
		n, err := g.Purge(a.Room, before)
		return Purged{Messages: n}, err
	case "unused":
		if !a.Destroy {
			rooms, _, err := g.Unused(a.Days, false)
			return UnusedRooms{Rooms: nonNil(rooms)}, err
		}
	}
	// The rest tell occupants: refused while nobody could be told.
	if s.Link == nil || !s.Link.Up() {
		return nil, errors.New("the link to the XMPP server is down: nothing was done, try again when it is up")
	}
	var outs []room.Out
	var result any
	var err error
	switch req.Cmd {
	case "create":
		outs, err = g.AdminCreate(a.Room, a.Owner, room.CreateOptions{Name: a.Name, Persistent: a.Persistent, Public: a.Public, MembersOnly: a.MembersOnly})
		result = struct {
			Room string `json:"room"`
		}{a.Room}
	case "destroy":
		var found bool
		outs, found, err = g.Destroy(a.Room, a.Alt, a.Reason)
		if err == nil && !found {
			err = &room.UnknownRoomError{Room: a.Room}
		}
	case "affiliation":
		aff, ok := affiliations.ParseAffiliation(a.Affiliation)
		if !ok {
			return nil, fmt.Errorf("unknown affiliation %q: owner, admin, member, outcast or none", a.Affiliation)
		}
		outs, err = g.AdminSetAffiliation(a.Room, a.JID, aff, a.Reason)
	case "kick":
		outs, err = g.AdminKick(a.Room, a.Nick, a.Reason)
	case "ban":
		outs, err = g.Ban(a.JID, a.Reason)
	case "say":
		switch {
		case a.All && a.Room != "":
			return nil, errors.New("say goes to one room or to all, not both")
		case a.All:
			outs, err = g.SayAll(a.Text)
		default:
			outs, err = g.Say(a.Room, a.Text)
		}
	case "unused":
		var rooms []string
		rooms, outs, err = g.Unused(a.Days, true)
		result = UnusedRooms{Rooms: nonNil(rooms), Destroyed: true}
	}
	// What was done is sent even when a later part failed (unused).
	if serr := s.Link.Send(outs); serr != nil {
		s.Log.Error().Err(serr).Str("cmd", req.Cmd).Int("stanzas", len(outs)).Msg("admin request done, its stanzas not sent")
		if err == nil {
			err = fmt.Errorf("done, but the occupants were not told: %w", serr)
		}
	}
	if err != nil {
		return nil, err
	}
	if result == nil {
		result = Sent{Stanzas: len(outs)}
	}
	return result, nil
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ParseTime reads an RFC 3339 time or a date (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time", s)
}

// Listen listens on the Unix socket path, a file only its owner may open
// (mode 0600). A socket file left by a Chorus that is gone is removed; one
// that still answers is another Chorus's, and Listen fails.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another process listens on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale socket: %w", err)
		}
	}
	// No moment where others may connect: the file is created 0600.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
