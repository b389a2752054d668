package httpadapter

import (
	"errors"
	"regexp"
	"strconv"
	"time"
)

// dateRE matches the date formats ONLYOFFICE clients send: a date, or a
// date and time whose time separators are colons or (as documented) dashes,
// with 0 to 7 fractional digits and an optional Z or ±hh:mm offset.
var dateRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2})[:-](\d{2})[:-](\d{2})(?:\.(\d{1,7}))?([Zz]|[+-]\d{2}:\d{2})?)?$`)

var (
	errBadDate        = errors.New("not a date")
	errYearOutOfRange = errors.New("year outside 1 to 9999")
)

// parseDate reads 2008-04-10T06:30:00.000Z, 2008-04-10T06-30-00.000Z,
// 2008-04-10T06:30:00+03:00, 2008-04-10T06:30:00 or 2008-04-10. A date or
// time without an offset is in loc. The year must be from 1 to 9999: year
// 0 is before Go's zero time, which crmaccess reads as "no bound".
func parseDate(s string, loc *time.Location) (time.Time, error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, errBadDate
	}
	num := func(i int) int {
		if m[i] == "" {
			return 0
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	year, month, day := num(1), num(2), num(3)
	if year < 1 {
		return time.Time{}, errYearOutOfRange
	}
	hour, minute, sec := num(4), num(5), num(6)
	nsec := 0
	if frac := m[7]; frac != "" {
		nsec = num(7)
		for i := len(frac); i < 9; i++ {
			nsec *= 10
		}
	}
	switch zone := m[8]; {
	case zone == "Z" || zone == "z":
		loc = time.UTC
	case zone != "":
		h, _ := strconv.Atoi(zone[1:3])
		mm, _ := strconv.Atoi(zone[4:6])
		if h > 23 || mm > 59 {
			return time.Time{}, errBadDate
		}
		offset := h*3600 + mm*60
		if zone[0] == '-' {
			offset = -offset
		}
		loc = time.FixedZone("", offset)
	}
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errBadDate
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day { // 2021-02-30 would roll over into March
		return time.Time{}, errBadDate
	}
	return t, nil
}

// dateLayout writes seven fractional digits, as ONLYOFFICE does.
const dateLayout = "2006-01-02T15:04:05.0000000Z07:00"

// formatDate writes t in loc: 2019-08-21T11:39:04.9614433Z in UTC.
func formatDate(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(dateLayout)
}
