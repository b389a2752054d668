package crmaccess

import (
	"strings"
	"time"
)

// keptContacts holds the contacts a change of access keeps for its answer,
// from its read until the answer is built, in under half the memory of
// the answer itself: a fixed-size record a contact, in chunks (no slice
// of every contact is ever grown and copied), its strings by index, each
// string that repeats (creators, titles, tags) once. The answer is built
// only once the write has committed and memory has applied it, when the
// write's own rules are gone: the answer and the write's work never hold
// memory at the same time.
type keptContacts struct {
	chunks [][]keptContact
	n      int
	strs   []string          // by index; 0 is ""
	shared map[string]uint32 // the index of strings seen, up to maxSharedStrings
	tags   [][]string        // lists of tags by index; 0 is none
	tagIdx map[string]uint32 // the index of a list of tags by its text
}

// keptContact is a Contact of keptContacts; its access is the write's.
type keptContact struct {
	id, companyID, stage, ctype int64
	created                     time.Time
	isCompany, changed          bool
	// Indexes of keptContacts.strs and tags.
	companyName, firstName, lastName, title, about, createBy uint32
	tags                                                     uint32
}

// keptChunk is how many contacts a chunk holds.
const keptChunk = 4096

// maxSharedStrings bounds the strings keptContacts looks up: a column
// whose values do not repeat (last names) stops growing the table and
// keeps one entry a contact.
const maxSharedStrings = 1 << 14

func newKeptContacts() *keptContacts {
	return &keptContacts{strs: []string{""}, shared: map[string]uint32{"": 0}, tags: [][]string{nil},
		tagIdx: map[string]uint32{}}
}

func (k *keptContacts) str(s string) uint32 {
	if i, ok := k.shared[s]; ok {
		return i
	}
	i := uint32(len(k.strs))
	k.strs = append(k.strs, s)
	if len(k.shared) < maxSharedStrings {
		k.shared[s] = i
	}
	return i
}

// add keeps c (its tags too, when it has them), changed telling whether
// its access changes.
func (k *keptContacts) add(c *Contact, changed bool) {
	if k.n%keptChunk == 0 {
		k.chunks = append(k.chunks, make([]keptContact, 0, keptChunk))
	}
	last := &k.chunks[len(k.chunks)-1]
	*last = append(*last, keptContact{id: c.ID, companyID: c.CompanyID, stage: c.ContactStage, ctype: c.ContactType,
		created: c.Created, isCompany: c.IsCompany, changed: changed,
		companyName: k.str(c.CompanyName), firstName: k.str(c.FirstName), lastName: k.str(c.LastName),
		title: k.str(c.Title), about: k.str(c.About), createBy: k.str(c.CreateBy)})
	k.n++
	if len(c.Tags) > 0 {
		k.setTags(k.n-1, c.Tags)
	}
}

// doneReading drops what only adding contacts and tags needs.
func (k *keptContacts) doneReading() { k.shared, k.tagIdx = nil, nil }

// at returns the i-th contact kept.
func (k *keptContacts) at(i int) *keptContact { return &k.chunks[i/keptChunk][i%keptChunk] }

// setTags sets the tags of the i-th contact kept; lists with the same
// tags share one slice.
func (k *keptContacts) setTags(i int, tags []string) {
	key := strings.Join(tags, "\x00")
	idx, ok := k.tagIdx[key]
	if !ok {
		idx = uint32(len(k.tags))
		k.tags = append(k.tags, tags[:len(tags):len(tags)])
		k.tagIdx[key] = idx
	}
	k.at(i).tags = idx
}

// each calls fn with every contact kept, in order.
func (k *keptContacts) each(fn func(*keptContact) error) error {
	for _, chunk := range k.chunks {
		for i := range chunk {
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// results builds the answer's contacts, with access after, and drops the
// contacts kept as it goes.
func (k *keptContacts) results(after AccessState) []ContactResult {
	out := make([]ContactResult, 0, k.n)
	for ci, chunk := range k.chunks {
		for i := range chunk {
			c := &chunk[i]
			out = append(out, ContactResult{Changed: c.changed, Contact: Contact{
				ID: c.id, IsCompany: c.isCompany, CompanyName: k.strs[c.companyName], FirstName: k.strs[c.firstName],
				LastName: k.strs[c.lastName], Title: k.strs[c.title], CompanyID: c.companyID, About: k.strs[c.about],
				Tags: k.tags[c.tags], ContactStage: c.stage, ContactType: c.ctype, Created: c.created,
				CreateBy: k.strs[c.createBy], ShareType: after.ShareType, ManagerList: after.List,
			}})
		}
		k.chunks[ci] = nil
	}
	k.chunks, k.n = nil, 0
	return out
}
