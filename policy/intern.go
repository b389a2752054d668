package policy

// Interning: user ids as small numbers, released when no line names them.

import "strings"

// lookup returns the interned id of a subject, or 0 when it is unknown.
func (x *index) lookup(name string) uint32 {
	if v, ok := x.users.Load(name); ok {
		return v.(uint32)
	}
	return 0
}

// intern returns the id of a subject, adding it when new.
func (x *index) intern(name string) uint32 {
	if id := x.lookup(name); id != 0 {
		return id
	}
	x.namesMu.Lock()
	defer x.namesMu.Unlock()
	if id := x.lookup(name); id != 0 {
		return id
	}
	id := uint32(len(x.names))
	x.names = append(x.names, strings.Clone(name))
	x.refs = append(x.refs, 0)
	x.users.Store(x.names[id], id)
	return id
}

// release forgets the user ids of lines (entries, or packed) that no line
// names any more.
func release[L interface{ userID() uint32 }](x *index, lines []L) {
	x.namesMu.Lock()
	defer x.namesMu.Unlock()
	for _, l := range lines {
		id := l.userID()
		if id < firstUserID || x.refs[id] != 0 || x.names[id] == "" {
			continue
		}
		x.users.Delete(x.names[id])
		x.names[id] = ""
	}
}

func (e entry) userID() uint32 { return e.link.user }

func (x *index) name(id uint32) string {
	x.namesMu.RLock()
	defer x.namesMu.RUnlock()
	return x.names[id]
}
