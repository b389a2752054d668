package crmaccess

// SetContactPartSize makes the contact writes of the tests use parts of n
// contacts, so that small data sets span several parts; the returned
// function restores the size.
func SetContactPartSize(n int) (restore func()) {
	was := contactPartSize
	contactPartSize = n
	return func() { contactPartSize = was }
}
