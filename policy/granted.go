package policy

// Granted: the records a user may see, listed from the index in id order.

import (
	"slices"

	"github.com/crmaccess/crmaccess"
)

// Granted lists the records of kind on which the lines grant user the
// action — by a public marker, or by a line that names user: exactly the
// records Decide allows a user who is not an admin. (The admin role grants
// every record, existing or not, and lines cannot list those; the caller
// asks the store.) It returns the ids above after, ascending, at most limit
// of them, and how many there are in all, both from one state.
//
// The total is kept as lines change (tally.go) and costs a lookup; the ids
// are found by walking the records in id order from after, so a page costs
// about limit / (the share of records granted) steps. Writers wait for the
// walk.
//
// Errors: EINVALID (an unknown kind or action, a user that is not a
// canonical GUID, after < 0 or limit < 0).
func (g *Engine) Granted(user string, kind crmaccess.Kind, action crmaccess.Action, after int64, limit int) ([]int64, int, error) {
	if !(crmaccess.Ref{Kind: kind, ID: 1}).Valid() || !action.Valid() {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "cannot list %q on %q", action, kind)
	}
	if id, err := crmaccess.ParseGUID(user); err != nil || id != user {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "user %q is not a canonical GUID", user)
	}
	if after < 0 || limit < 0 {
		return nil, 0, crmaccess.Errorf(crmaccess.EINVALID, "cannot list after %d, %d at most", after, limit)
	}
	x := g.x.Load()
	k := keyOf(crmaccess.Ref{Kind: kind, ID: 1}).kind
	ids, total := x.granted(k, x.lookup(user), classOf(k, action), after, limit)
	return ids, total, nil
}

// rlockAll and runlockAll hold every shard for one consistent read, taken
// in lockAll's order.
func (x *index) rlockAll() {
	for i := range x.shards {
		x.shards[i].mu.RLock()
	}
}

func (x *index) runlockAll() {
	for i := range x.shards {
		x.shards[i].mu.RUnlock()
	}
}

func (x *index) granted(kind uint8, uid uint32, class int, after int64, limit int) ([]int64, int) {
	x.rlockAll()
	defer x.runlockAll()
	total := x.total(kind, uid, class)
	if limit == 0 || total == 0 {
		return nil, total
	}
	kindN, action := kindName(kind), classActions[class]
	grants := func(links []link) bool { return matchLinks(links, uid).reason(kindN, action) != "" }

	// Records kept aside (far ids) are few in a CRM: take those granted,
	// sorted, and merge them into the walk of the dense slots.
	var far []int64
	for i := range x.shards {
		s := &x.shards[i]
		for k, r := range s.sparse {
			if k.kind == kind && k.id > after && grants(s.links(k, &r)) {
				far = append(far, k.id)
			}
		}
	}
	slices.Sort(far)

	ids := make([]int64, 0, min(limit, total))
	slots := 0
	for i := range x.shards {
		slots = max(slots, len(x.shards[i].dense[kind]))
	}
	// Id = slot*shardCount + shard: walk slots, and in each the shards.
walk:
	for slot := uint64(after+1) / shardCount; slot < uint64(slots); slot++ {
		for j := range x.shards {
			id := int64(slot*shardCount) + int64(j)
			s := &x.shards[j]
			d := s.dense[kind]
			if id <= after || slot >= uint64(len(d)) || d[slot].n == 0 {
				continue
			}
			for len(far) > 0 && far[0] < id && len(ids) < limit {
				ids, far = append(ids, far[0]), far[1:]
			}
			if len(ids) == limit {
				break walk
			}
			if r := d[slot].record(); grants(s.links(recordKey{kind: kind, id: id}, &r)) {
				if ids = append(ids, id); len(ids) == limit {
					break walk
				}
			}
		}
	}
	for len(far) > 0 && len(ids) < limit {
		ids, far = append(ids, far[0]), far[1:]
	}
	return ids, total
}
