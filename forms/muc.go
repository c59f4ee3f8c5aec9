package forms

// FORM_TYPE values of the MUC forms (XEP-0045 §15.5).
const (
	RoomConfig = "http://jabber.org/protocol/muc#roomconfig"
	RoomInfo   = "http://jabber.org/protocol/muc#roominfo"
	Register   = "http://jabber.org/protocol/muc#register"
	Request    = "http://jabber.org/protocol/muc#request"
)

// Field names of muc#roomconfig (XEP-0045 §15.5.3).
const (
	ConfigRoomName          = "muc#roomconfig_roomname"
	ConfigRoomDesc          = "muc#roomconfig_roomdesc"
	ConfigLang              = "muc#roomconfig_lang"
	ConfigPersistent        = "muc#roomconfig_persistentroom"
	ConfigPublic            = "muc#roomconfig_publicroom"
	ConfigModerated         = "muc#roomconfig_moderatedroom"
	ConfigMembersOnly       = "muc#roomconfig_membersonly"
	ConfigAllowMemberInvite = "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites"
	ConfigPasswordProtected = "muc#roomconfig_passwordprotectedroom"
	ConfigRoomSecret        = "muc#roomconfig_roomsecret"
	ConfigWhois             = "muc#roomconfig_whois"
	ConfigChangeSubject     = "muc#roomconfig_changesubject"
	ConfigAllowInvites      = "muc#roomconfig_allowinvites"
	ConfigAllowPM           = "muc#roomconfig_allowpm"
	ConfigMaxUsers          = "muc#roomconfig_maxusers"
	ConfigPresenceBroadcast = "muc#roomconfig_presencebroadcast"
	ConfigHistoryLength     = "muc#roomconfig_historylength"
	ConfigGetMemberList     = "muc#roomconfig_getmemberlist"
	ConfigEnableLogging     = "muc#roomconfig_enablelogging"
)

// HiddenFormType returns the hidden FORM_TYPE field for form type t.
func HiddenFormType(t string) Field {
	return Field{Var: "FORM_TYPE", Type: Hidden, Values: []string{t}}
}
