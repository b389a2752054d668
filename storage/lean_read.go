package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crmaccess/crmaccess"
)

// ScanContacts is FindContacts for a caller that keeps what it reads in a
// form of its own (see crmaccess.ContactScanner): it calls keep with every
// contact f matches, in ascending id order, Tags empty (the contact is
// reused for the next row: keep copies what it keeps), then tags with the
// position of each kept contact among those kept and its tags, in order,
// once a contact with tags. No slice of every match is built, and the
// strings that repeat from contact to contact (creators, titles, first
// names, descriptions, tags) are read once and shared, as are identical
// lists of tags: a caller that holds 100k contacts holds each string once.
//
// Errors: keep's as they are; EINTERNAL.
func (s *Store) ScanContacts(ctx context.Context, f *crmaccess.ContactFilter, keep func(*crmaccess.Contact) (bool, error),
	tags func(i int, tags []string)) error {
	return reader{s, s.reads()}.ScanContacts(ctx, f, keep, tags)
}

var (
	_ crmaccess.ContactScanner = (*Store)(nil)
	_ crmaccess.ContactScanner = reader{}
)

// keepFailed carries keep's error through the scan, untranslated.
type keepFailed struct{ err error }

func (k keepFailed) Error() string { return k.err.Error() }

// ScanContacts is Store.ScanContacts through r.
func (r reader) ScanContacts(ctx context.Context, f *crmaccess.ContactFilter, keep func(*crmaccess.Contact) (bool, error),
	tags func(i int, tags []string)) error {
	err := r.scanContacts(ctx, f, keep, tags)
	var kf keepFailed
	if errors.As(err, &kf) {
		return kf.err
	}
	if err != nil {
		return r.s.translate(ctx, err)
	}
	return nil
}

func (r reader) scanContacts(ctx context.Context, f *crmaccess.ContactFilter, keep func(*crmaccess.Contact) (bool, error),
	tags func(i int, tags []string)) error {
	if f == nil {
		f = &crmaccess.ContactFilter{}
	}
	var carrying map[int64]bool // as in FindContacts
	if keys := f.TagKeys(); len(keys) > maxTagVars {
		var err error
		if carrying, err = r.contactsCarrying(ctx, keys); err != nil {
			return err
		}
		if len(carrying) == 0 {
			return nil
		}
	}
	from, where, args, order := r.contactsFrom(f, carrying == nil)
	query := `SELECT ` + contactColumns + from
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY ` + order
	in := newInterner()
	var kept []int64
	var c crmaccess.Contact
	err := queryEach(ctx, r.q, r.s.d.bind(query), args, func(rows *sql.Rows) error {
		if err := scanContactInto(rows, &c); err != nil {
			return err
		}
		if (carrying != nil && !carrying[c.ID]) || !f.MatchSearch(c.DisplayName()) {
			return nil
		}
		c.CreateBy, c.Title, c.About, c.FirstName = in.get(c.CreateBy), in.get(c.Title), in.get(c.About), in.get(c.FirstName)
		ok, err := keep(&c)
		if err != nil {
			return keepFailed{err}
		}
		if ok {
			kept = append(kept, c.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.scanTags(ctx, kept, in, tags)
}

// scanTags reads the tags of the contacts of ids (ascending) a chunk of
// ids a statement and calls tags with each contact's position in ids and
// its tags, the same list shared by every contact that has it.
func (r reader) scanTags(ctx context.Context, ids []int64, in *interner, tags func(i int, tags []string)) error {
	m := multiRow{head: `SELECT contact_id, tag FROM ` + r.s.t.tags + ` WHERE contact_id IN (`, row: "?",
		tail: ") ORDER BY contact_id, pos", rowVars: 1}
	per := min(r.s.rowsPerStatement(m), statementRows)
	sets := map[string][]string{} // lists of tags by their text, "\x00" between tags
	var key strings.Builder
	var cur []string
	at := -1 // position in ids of the contact whose tags cur holds
	flush := func() {
		if at < 0 {
			return
		}
		key.Reset()
		for _, t := range cur {
			key.WriteString(t)
			key.WriteByte(0)
		}
		set, ok := sets[key.String()]
		if !ok {
			set = slices.Clip(slices.Clone(cur))
			if len(sets) < maxInterned {
				sets[key.String()] = set
			}
		}
		tags(at, set)
		cur = cur[:0]
	}
	args := make([]any, 0, per)
	i := 0 // ids and rows both ascend: walk them together
	for start := 0; start < len(ids); start += per {
		end := min(start+per, len(ids))
		args = args[:0]
		for _, id := range ids[start:end] {
			args = append(args, id)
		}
		err := queryEach(ctx, r.q, m.sql(r.s.d, end-start), args, func(rows *sql.Rows) error {
			var id int64
			var tag string
			if err := rows.Scan(&id, &tag); err != nil {
				return err
			}
			for i < len(ids) && ids[i] < id {
				i++
			}
			if i == len(ids) || ids[i] != id {
				return fmt.Errorf("tag of contact %d out of order", id)
			}
			if i != at {
				flush()
				at = i
			}
			cur = append(cur, in.get(tag))
			return nil
		})
		if err != nil {
			return err
		}
	}
	flush()
	return nil
}

// scanContactInto is scanContact into c, every field set.
func scanContactInto(r *sql.Rows, c *crmaccess.Contact) error {
	var sec, nsec, share int64
	*c = crmaccess.Contact{}
	err := r.Scan(&c.ID, &c.IsCompany, &c.CompanyName, &c.FirstName, &c.LastName, &c.Title,
		&c.CompanyID, &c.About, &c.ContactStage, &c.ContactType, &sec, &nsec, &c.CreateBy, &share)
	c.Created = fromUnix(sec, nsec)
	c.ShareType = crmaccess.ShareType(share)
	return err
}

// maxInterned bounds the strings, and the lists of tags, one scan shares:
// columns whose values rarely repeat stop growing the table, and keep
// their own copies.
const maxInterned = 1 << 14

// interner hands out one copy of each string it has seen, up to
// maxInterned strings.
type interner struct{ m map[string]string }

func newInterner() *interner { return &interner{m: make(map[string]string)} }

func (in *interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}
