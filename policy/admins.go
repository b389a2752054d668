package policy

// The admin set: replaced whole on a change, read without a lock.

// setAdmin makes the admin set have user or not, and reports whether that
// changed it; the caller holds lockAll.
func (x *index) setAdmin(user uint32, admin bool) bool {
	old := *x.admins.Load()
	if old[user] == admin {
		return false
	}
	next := make(map[uint32]bool, len(old)+1)
	for u := range old {
		next[u] = true
	}
	if admin {
		next[user] = true
	} else {
		delete(next, user)
	}
	x.admins.Store(&next)
	return true
}

func (x *index) isAdmin(user uint32) bool {
	return user != 0 && (*x.admins.Load())[user]
}
