package scansion

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"chorus/stanza"
)

// Script is a parsed scansion script.
type Script struct {
	Name        string // where it came from, for messages
	Title       string // the first comment line
	Description string // further comment lines before the first client
	Clients     []*Client
	Actions     []*Action
}

// Client is a character of the script.
type Client struct {
	Name     string
	JID      string // as declared; may carry a resource
	Password string
	Resource string // from resource:, overriding the JID's
	Line     int
}

// Verb is what an action does.
type Verb int

// The actions a script can take.
const (
	Connect Verb = iota + 1
	Disconnect
	Send
	Receive
	ReceiveNothing
)

func (v Verb) String() string {
	switch v {
	case Connect:
		return "connects"
	case Disconnect:
		return "disconnects"
	case Send:
		return "sends"
	case Receive:
		return "receives"
	case ReceiveNothing:
		return "receives: nothing"
	}
	return fmt.Sprintf("Verb(%d)", int(v))
}

// Action is one step of a script.
type Action struct {
	Line    int
	Client  string
	Verb    Verb
	Stanzas []*stanza.Element // for Send and Receive, before variable substitution
}

func (a *Action) String() string { return a.Client + " " + a.Verb.String() }

// Client returns the client called name, or nil.
func (s *Script) Client(name string) *Client {
	for _, c := range s.Clients {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ParseError is a problem in a script, at a line.
type ParseError struct {
	Name string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg) }

// ParseFile parses the script in the file at path.
func ParseFile(path string) (*Script, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(filepath.Base(path), f)
}

var (
	actionRE   = regexp.MustCompile(`^(\S.*?)\s+(connects|disconnects|sends|receives)(?:\s*:|\s|$)\s*(.*)$`)
	variableRE = regexp.MustCompile(`\$\{([^}]*)\}`)
	varNameRE  = regexp.MustCompile(`^(.+)'s (full JID|JID)$`)
)

// Parse reads a script; name is used in error messages.
func Parse(name string, r io.Reader) (*Script, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	p := &parser{s: &Script{Name: name}, lines: strings.Split(text, "\n")}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.s, nil
}

type parser struct {
	s     *Script
	lines []string
	i     int // index of the line being looked at
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &ParseError{Name: p.s.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() error {
	inActions := false
	var desc []string
	for p.i < len(p.lines) {
		line, ln := p.lines[p.i], p.i+1
		switch {
		case isBlank(line):
			p.i++
		case isIndented(line):
			return p.errf(ln, "indented line outside a client or stanza block")
		case isSeparator(line):
			if inActions {
				return p.errf(ln, "second ----- separator")
			}
			inActions = true
			p.i++
		case isComment(line):
			if !inActions && len(p.s.Clients) == 0 {
				if c := commentText(line); p.s.Title == "" {
					p.s.Title = c
				} else {
					desc = append(desc, c)
				}
			}
			p.i++
		case strings.HasPrefix(line, "["):
			if inActions {
				return p.errf(ln, "client declared after the ----- separator")
			}
			if err := p.client(); err != nil {
				return err
			}
		case !inActions:
			return p.errf(ln, "expected [Client], a comment or the ----- separator, got %q", line)
		default:
			if err := p.action(); err != nil {
				return err
			}
		}
	}
	p.s.Description = strings.Join(desc, "\n")
	if !inActions {
		return p.errf(len(p.lines), "no ----- separator before the actions")
	}
	return p.checkVariables()
}

// client parses "[Client] Name" and its indented properties.
func (p *parser) client() error {
	line, ln := p.lines[p.i], p.i+1
	kind, name, ok := strings.Cut(line[1:], "]")
	if !ok {
		return p.errf(ln, "unterminated [")
	}
	if kind != "Client" {
		return p.errf(ln, "unsupported object [%s]; only [Client] is supported", kind)
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return p.errf(ln, "client without a name")
	case p.s.Client(name) != nil:
		return p.errf(ln, "client %q declared twice", name)
	}
	c := &Client{Name: name, Line: ln}
	p.i++
	first, block := p.block()
	for k, l := range block {
		if isBlank(l) {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			return p.errf(first+k, "expected key: value")
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "jid":
			c.JID = value
		case "password":
			c.Password = value
		case "resource":
			c.Resource = value
		default:
			return p.errf(first+k, "unknown client property %q", key)
		}
	}
	if c.JID == "" {
		return p.errf(ln, "client %q has no jid", name)
	}
	p.s.Clients = append(p.s.Clients, c)
	return nil
}

// action parses one action line and, for sends and receives, its block.
func (p *parser) action() error {
	line, ln := p.lines[p.i], p.i+1
	p.i++
	m := actionRE.FindStringSubmatch(line)
	if m == nil {
		return p.errf(ln, "cannot parse action %q", line)
	}
	name, verb, rest := m[1], m[2], strings.TrimSpace(m[3])
	if p.s.Client(name) == nil {
		return p.errf(ln, "unknown client %q", name)
	}
	a := &Action{Line: ln, Client: name}
	switch verb {
	case "connects":
		a.Verb = Connect
	case "disconnects":
		a.Verb = Disconnect
	case "sends":
		a.Verb = Send
	case "receives":
		a.Verb = Receive
		if rest == "nothing" {
			a.Verb, rest = ReceiveNothing, ""
		}
	}
	first, block := p.block()
	switch a.Verb {
	case Connect, Disconnect, ReceiveNothing:
		if rest != "" {
			return p.errf(ln, "unexpected %q after %q", rest, a.Verb)
		}
		if len(block) > 0 {
			return p.errf(first, "%s takes no stanza block", a.Verb)
		}
	default:
		// XML may start on the action line itself.
		if rest != "" {
			block = append([]string{rest}, block...)
			first = ln
		}
		if len(block) == 0 {
			return p.errf(ln, "%s needs an indented stanza block", a)
		}
		st, err := parseStanzas(strings.Join(block, "\n"))
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return p.errf(first+se.Line-1, "%s: %s", a, se.Msg)
			}
			return p.errf(first, "%s: %v", a, err)
		}
		if len(st) == 0 {
			return p.errf(first, "%s: no stanza in block", a)
		}
		a.Stanzas = st
	}
	p.s.Actions = append(p.s.Actions, a)
	return nil
}

// block takes the indented lines from p.i on; blank lines stay in the block
// only when more indented lines follow. It returns the line number of the
// first line and the lines.
func (p *parser) block() (first int, lines []string) {
	start, end := p.i, p.i
	for j := p.i; j < len(p.lines); j++ {
		if isBlank(p.lines[j]) {
			continue
		}
		if !isIndented(p.lines[j]) {
			break
		}
		end = j + 1
	}
	p.i = end
	return start + 1, p.lines[start:end]
}

// checkVariables makes sure every ${...} names a declared client.
func (p *parser) checkVariables() error {
	for i, l := range p.lines {
		for _, m := range variableRE.FindAllStringSubmatch(l, -1) {
			v := varNameRE.FindStringSubmatch(m[1])
			if v == nil {
				return p.errf(i+1, "unknown variable ${%s}; expected ${Name's full JID} or ${Name's JID}", m[1])
			}
			if p.s.Client(v[1]) == nil {
				return p.errf(i+1, "variable ${%s} refers to undeclared client %q", m[1], v[1])
			}
		}
	}
	return nil
}

// parseStanzas decodes the top-level elements of a block. The wrapper sets
// the stanza namespace and binds the scansion: prefix, and sits on the
// block's first line so decoder line numbers are block line numbers.
func parseStanzas(block string) ([]*stanza.Element, error) {
	d := xml.NewDecoder(strings.NewReader("<block xmlns='" + stanza.NSClient + "' xmlns:scansion='" + NSScansion + "'>" + block + "\n</block>"))
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	lim := stanza.Limits{MaxDepth: 100, MaxBytes: 1 << 20}
	var out []*stanza.Element
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e, err := stanza.Decode(d, t, lim)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		case xml.EndElement:
			return out, nil
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); s != "" {
				return nil, fmt.Errorf("text %q outside any stanza", s)
			}
		case xml.Comment:
		default:
			return nil, fmt.Errorf("unexpected %T in stanza block", tok)
		}
	}
}

func isBlank(l string) bool    { return strings.TrimSpace(l) == "" }
func isIndented(l string) bool { return l != "" && (l[0] == ' ' || l[0] == '\t') }

func isSeparator(l string) bool {
	l = strings.TrimSpace(l)
	return len(l) >= 3 && strings.Trim(l, "-") == ""
}

func isComment(l string) bool {
	return strings.HasPrefix(l, "#") || strings.HasPrefix(l, "//") || strings.HasPrefix(l, "--")
}

func commentText(l string) string {
	for _, p := range []string{"#", "//", "--"} {
		if strings.HasPrefix(l, p) {
			return strings.TrimSpace(strings.TrimLeft(l, p[:1]))
		}
	}
	return strings.TrimSpace(l)
}
