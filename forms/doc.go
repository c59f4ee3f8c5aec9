// Package forms holds XEP-0004 data forms and the MUC form types built on
// them: muc#roomconfig, muc#roominfo, muc#register and muc#request.
//
// Forms are modelled directly on the stanza element tree the rooms use, so a
// form can be read from and written into a stanza without a detour through
// token streams.
package forms
