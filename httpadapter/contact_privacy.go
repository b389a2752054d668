package httpadapter

import (
	"slices"

	"github.com/crmaccess/crmaccess"
)

// contactPrivacy reads the privacy a contact endpoint sets: isShared and
// managerList, ONLYOFFICE's documented names, or their aliases isPrivate
// (the opposite of isShared) and accessList, which ONLYOFFICE's own web
// client sends. Both forms at once must agree. One of the flags must be
// sent: a missing isShared reads as false (private) in ONLYOFFICE and a
// missing isPrivate as false (shared), so a request without either is
// refused rather than guessed at.
func contactPrivacy(p *params) (isPrivate bool, managers []string, err error) {
	shared, sharedGiven, err := p.flag("isShared")
	if err != nil {
		return false, nil, err
	}
	private, privateGiven, err := p.flag("isPrivate")
	if err != nil {
		return false, nil, err
	}
	switch {
	case sharedGiven && privateGiven && shared == private:
		return false, nil, invalid("isShared=%t and isPrivate=%t contradict each other: isPrivate is the opposite of isShared", shared, private)
	case sharedGiven:
		isPrivate = !shared
	case privateGiven:
		isPrivate = private
	default:
		return false, nil, invalid("isShared: missing; send isShared (false makes the contacts private) or its opposite isPrivate")
	}
	managers, err = p.strs("managerList")
	if err != nil {
		return false, nil, err
	}
	access, err := p.strs("accessList")
	if err != nil {
		return false, nil, err
	}
	switch {
	case p.get("accessList") == nil:
	case p.get("managerList") == nil:
		managers = access
	case !sameUsers(managers, access):
		return false, nil, invalid("managerList and accessList (its alias) name different users; send one of them")
	}
	return isPrivate, managers, nil
}

// sameUsers reports whether two user lists name the same users, in any
// order, letter case or braces. An entry that is not a GUID is compared as
// sent, and the Service refuses it later.
func sameUsers(a, b []string) bool {
	canon := func(list []string) []string {
		out := make([]string, 0, len(list))
		for _, s := range list {
			if id, err := crmaccess.ParseGUID(s); err == nil {
				s = id
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(canon(a), canon(b))
}
