package crmaccess

// SetPartSizes makes the writes in parts of the tests use parts of write
// records, and memory derive their rules in parts of apply records, so
// that small data sets span several parts; the returned function restores
// the sizes.
func SetPartSizes(write, apply int) (restore func()) {
	w, a := writePartSize, applyPartSize
	writePartSize, applyPartSize = write, apply
	return func() { writePartSize, applyPartSize = w, a }
}
