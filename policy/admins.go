package policy

// The user roles: admin, and the status of a user (active, inactive), as a
// bit set per interned user. The set is replaced whole by a write, so that
// checks read it without a lock; a write copies it once, on its first role
// line, and publishes the copy when it ends (see Engine.Apply).

const (
	roleBitAdmin    uint8 = 1 << iota // g4 user crm:admin
	roleBitActive                     // g5 user crm:active
	roleBitInactive                   // g5 user crm:inactive
)

// setRole sets or clears one role bit of user in the write's copy of the
// role set, and reports whether that changed it; the caller holds lockAll.
func (x *index) setRole(user uint32, bit uint8, on bool) bool {
	if x.nextRoles == nil {
		old := *x.roles.Load()
		next := make(map[uint32]uint8, len(old)+1)
		for u, r := range old {
			next[u] = r
		}
		x.nextRoles = next
	}
	was := x.nextRoles[user]
	now := was &^ bit
	if on {
		now |= bit
	}
	if now == was {
		return false
	}
	if now == 0 {
		delete(x.nextRoles, user)
	} else {
		x.nextRoles[user] = now
	}
	return true
}

// publishRoles makes a write's role changes visible to checks.
func (x *index) publishRoles() {
	if x.nextRoles != nil {
		next := x.nextRoles
		x.roles.Store(&next)
		x.nextRoles = nil
	}
}

func (x *index) hasRole(user uint32, bit uint8) bool {
	return user != 0 && (*x.roles.Load())[user]&bit != 0
}

func (x *index) isAdmin(user uint32) bool { return x.hasRole(user, roleBitAdmin) }

func (x *index) isActive(user uint32) bool { return x.hasRole(user, roleBitActive) }
