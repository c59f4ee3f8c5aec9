package stanza

import "strconv"

// Append appends the encoding of e, as a top-level stanza, to buf.
// A stanza in NSClient carries no xmlns so it takes the stream's default.
func (e *Element) Append(buf []byte) []byte {
	return e.appendElem(buf, NSClient, nil)
}

// AppendWithTo encodes e as a top-level stanza whose "to" attribute is to,
// whatever e itself holds. Fan-out uses it to address one shared stanza to
// many recipients without copying it.
func (e *Element) AppendWithTo(buf []byte, to string) []byte {
	return e.appendElem(buf, NSClient, &to)
}

// AppendShared encodes e as a top-level stanza without its "to" attribute
// and returns where an address belongs: a broadcast is encoded once and
// each recipient's copy is enc[:cut] + AppendTo + enc[cut:].
func (e *Element) AppendShared(buf []byte) (enc []byte, cut int) {
	none := ""
	start := len(buf)
	buf = e.appendElemCut(buf, NSClient, &none, &cut)
	return buf, cut - start
}

// AppendTo appends the " to='...'" attribute for a stanza encoded with
// AppendShared.
func AppendTo(buf []byte, to string) []byte {
	buf = append(buf, " to='"...)
	buf = appendEscaped(buf, to, true)
	return append(buf, '\'')
}

func (e *Element) appendElem(buf []byte, parentSpace string, to *string) []byte {
	return e.appendElemCut(buf, parentSpace, to, nil)
}

// appendElemCut encodes e; with to set, that value replaces any "to"
// attribute ("" leaves it out) and cut, if not nil, receives the offset
// where it is written.
func (e *Element) appendElemCut(buf []byte, parentSpace string, to *string, cut *int) []byte {
	buf = append(buf, '<')
	buf = append(buf, e.Local...)
	if e.Space != parentSpace {
		buf = append(buf, " xmlns='"...)
		buf = appendEscaped(buf, e.Space, true)
		buf = append(buf, '\'')
	}
	if cut != nil {
		*cut = len(buf)
	}
	var prefixes []string // namespaces of qualified attributes, index = prefix number
	if to != nil && *to != "" {
		buf = AppendTo(buf, *to)
	}
	for _, a := range e.Attrs {
		if to != nil && a.Space == "" && a.Local == "to" {
			continue
		}
		buf = append(buf, ' ')
		switch a.Space {
		case "":
		case NSXML:
			buf = append(buf, "xml:"...)
		default:
			n := -1
			for i, p := range prefixes {
				if p == a.Space {
					n = i
				}
			}
			if n < 0 {
				n = len(prefixes)
				prefixes = append(prefixes, a.Space)
				buf = append(buf, "xmlns:a"...)
				buf = strconv.AppendInt(buf, int64(n), 10)
				buf = append(buf, "='"...)
				buf = appendEscaped(buf, a.Space, true)
				buf = append(buf, "' "...)
			}
			buf = append(buf, 'a')
			buf = strconv.AppendInt(buf, int64(n), 10)
			buf = append(buf, ':')
		}
		buf = append(buf, a.Local...)
		buf = append(buf, "='"...)
		buf = appendEscaped(buf, a.Value, true)
		buf = append(buf, '\'')
	}
	if len(e.Nodes) == 0 {
		return append(buf, "/>"...)
	}
	buf = append(buf, '>')
	for _, n := range e.Nodes {
		if n.Elem != nil {
			buf = n.Elem.appendElem(buf, e.Space, nil)
		} else {
			buf = appendEscaped(buf, n.Text, false)
		}
	}
	buf = append(buf, "</"...)
	buf = append(buf, e.Local...)
	return append(buf, '>')
}

// appendEscaped escapes s for character data or (attr) a single-quoted
// attribute value.
func appendEscaped(buf []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '\'':
			if !attr {
				continue
			}
			esc = "&apos;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\n':
			if !attr {
				continue
			}
			esc = "&#xA;"
		case '\t':
			if !attr {
				continue
			}
			esc = "&#x9;"
		default:
			continue
		}
		buf = append(buf, s[last:i]...)
		buf = append(buf, esc...)
		last = i + 1
	}
	return append(buf, s[last:]...)
}
