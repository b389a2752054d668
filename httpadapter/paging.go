package httpadapter

import "net/http"

// headerSkipped counts the records a batch write left unchanged because the
// actor may read them but not change them; hidden records are never
// counted.
const headerSkipped = "X-Skipped-Count"

// page is the part of a list answer the query string asks for with
// startIndex and count. They page only the answer: a write still changes
// every record it matches (SPEC §4).
type page struct {
	start   int
	count   int
	paged   bool // startIndex or count was given: the answer adds startIndex and total
	limited bool // count was given
}

// readPage reads startIndex and count from the query string alone.
func readPage(p *params) (page, error) {
	var pg page
	q := p.query
	if q == nil {
		return pg, nil
	}
	var (
		set bool
		err error
	)
	if pg.start, set, err = q.count("startIndex"); err != nil {
		return pg, err
	}
	pg.paged = set
	if pg.count, pg.limited, err = q.count("count"); err != nil {
		return pg, err
	}
	pg.paged = pg.paged || pg.limited
	return pg, nil
}

// bounds returns the items [start, end) of a list of total items that the
// answer holds.
func (pg page) bounds(total int) (start, end int) {
	start = min(pg.start, total)
	end = total
	if pg.limited && pg.count < total-start { // start+count may overflow
		end = start + pg.count
	}
	return start, end
}

// writeList answers 200 with the items [start, end) of a list of total
// items, as pg asked; item renders the i-th.
func (h *handler) writeList(w http.ResponseWriter, r *http.Request, pg page, total int, item func(i int) any) {
	start, end := pg.bounds(total)
	h.writeEnvelope(w, r, http.StatusOK, &envelope{
		count:      end - start,
		paged:      pg.paged,
		startIndex: pg.start,
		total:      total,
		statusCode: http.StatusOK,
		isList:     true,
		list: func(emit func(any) error) error {
			for i := start; i < end; i++ {
				if err := emit(item(i)); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
