package room

import "chorus/stanza"

// Out is one stanza for one or more recipients. The writer sets the "to"
// attribute per recipient, so a broadcast is one Out with many addresses and
// its shared part can be encoded once.
type Out struct {
	To     []string
	Stanza *stanza.Element
}

// To1 builds an Out for a single recipient.
func To1(to string, st *stanza.Element) Out {
	return Out{To: []string{to}, Stanza: st}
}

// Flatten expands outs into one stanza per recipient with "to" set, in order.
// Tests and slow paths use it; the component's writer does not.
func Flatten(outs []Out) []*stanza.Element {
	var res []*stanza.Element
	for _, o := range outs {
		for _, to := range o.To {
			s := o.Stanza.ShallowCopy()
			s.SetAttr("to", to)
			res = append(res, s)
		}
	}
	return res
}
