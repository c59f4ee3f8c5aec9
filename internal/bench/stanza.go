package bench

import (
	"bytes"
	"strconv"
	"strings"
)

// The helpers below read the raw bytes of one element as returned by
// Scanner. Attribute values and text come back as they are on the wire,
// still escaped; the bench traffic never needs unescaping, and the null
// component copies them into its output unchanged.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Name is the (possibly prefixed) name of the element or tag el.
func Name(el []byte) []byte {
	if len(el) < 2 || el[0] != '<' {
		return nil
	}
	i := 1
	for i < len(el) && !isSpace(el[i]) && el[i] != '/' && el[i] != '>' {
		i++
	}
	return el[1:i]
}

// Attr returns the raw value of the attribute name of el's start tag.
func Attr(el []byte, name string) ([]byte, bool) {
	i := 1 + len(Name(el))
	for {
		for i < len(el) && isSpace(el[i]) {
			i++
		}
		if i >= len(el) || el[i] == '>' || el[i] == '/' {
			return nil, false
		}
		ns := i
		for i < len(el) && el[i] != '=' && !isSpace(el[i]) && el[i] != '>' {
			i++
		}
		an := el[ns:i]
		for i < len(el) && isSpace(el[i]) {
			i++
		}
		if i >= len(el) || el[i] != '=' {
			return nil, false
		}
		i++
		for i < len(el) && isSpace(el[i]) {
			i++
		}
		if i >= len(el) || (el[i] != '"' && el[i] != '\'') {
			return nil, false
		}
		q := el[i]
		i++
		j := bytes.IndexByte(el[i:], q)
		if j < 0 {
			return nil, false
		}
		if string(an) == name {
			return el[i : i+j], true
		}
		i += j + 1
	}
}

// findElem returns the bounds of the first element named name that starts
// at or after offset from within el (at any depth), or start == -1.
func findElem(el []byte, from int, name string) (start, end int) {
	for from < len(el) {
		i := bytes.IndexByte(el[from:], '<')
		if i < 0 {
			break
		}
		p := from + i
		from = p + 1
		rest := el[p+1:]
		if len(rest) <= len(name) || string(rest[:len(name)]) != name {
			continue
		}
		if c := rest[len(name)]; !isSpace(c) && c != '/' && c != '>' {
			continue
		}
		n, kind, err := scanTag(el[p:])
		if err != nil || n == 0 {
			break
		}
		if kind == tagEmpty {
			return p, p + n
		}
		// Walk to the matching end tag.
		depth := 1
		q := p + n
		for depth > 0 {
			k := bytes.IndexByte(el[q:], '<')
			if k < 0 {
				return -1, -1
			}
			q += k
			m, kind, err := scanTag(el[q:])
			if err != nil || m == 0 {
				return -1, -1
			}
			q += m
			switch kind {
			case tagStart:
				depth++
			case tagEnd:
				depth--
			}
		}
		return p, q
	}
	return -1, -1
}

// Child returns the first element named name inside el (at any depth;
// stanzas are shallow enough for that not to matter).
func Child(el []byte, name string) ([]byte, bool) {
	if len(el) == 0 {
		return nil, false
	}
	n, _, _ := scanTag(el)
	s, e := findElem(el, n, name)
	if s < 0 {
		return nil, false
	}
	return el[s:e], true
}

// Text is the raw content of the element el between its start and end
// tags; empty for <a/>.
func Text(el []byte) []byte {
	n, kind, _ := scanTag(el)
	if n == 0 || kind != tagStart {
		return nil
	}
	e := bytes.LastIndex(el, []byte("</"))
	if e < n {
		return nil
	}
	return el[n:e]
}

// HasStatus reports whether el carries <status code='code'/>, as MUC
// presence does for 110 (self-presence) and 201 (room created).
func HasStatus(el []byte, code string) bool {
	n, _, _ := scanTag(el)
	for from := n; ; {
		s, e := findElem(el, from, "status")
		if s < 0 {
			return false
		}
		if v, _ := Attr(el[s:e], "code"); string(v) == code {
			return true
		}
		from = e
	}
}

// appendBody appends a bench message body of at least size bytes carrying
// the sender's index in its room, a sequence number and the send time.
func appendBody(dst []byte, sender int, seq, unixNano int64, size int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(sender), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, unixNano, 10)
	dst = append(dst, ' ')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// parseBody reads what appendBody wrote; ok is false for any other text.
func parseBody(b []byte) (sender int, seq, unixNano int64, ok bool) {
	var v [3]int64
	i := 0
	for k := range v {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			v[k] = v[k]*10 + int64(b[j]-'0')
			j++
		}
		if j == i || j-i > 19 || j >= len(b) || b[j] != ' ' {
			return 0, 0, 0, false
		}
		i = j + 1
	}
	return int(v[0]), v[1], v[2], true
}

// escAttr escapes s for an attribute value in single quotes.
func escAttr(s string) string {
	if !strings.ContainsAny(s, "<>&'\"") {
		return s
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\"", "&quot;")
	return r.Replace(s)
}
