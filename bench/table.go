package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"
)

// unit says how a figure prints.
type unit int

const (
	unitSeconds unit = iota
	unitBytes
	unitPerSecond
	unitTimes // a plain ratio such as a speed-up
)

// figure is one measured value, or a text when it could not be measured.
type figure struct {
	v    float64
	text string // shown instead of v when set
	note string // shown after v (sample counts, extrapolation)
}

func val(v float64) figure               { return figure{v: v} }
func valNote(v float64, n string) figure { return figure{v: v, note: n} }
func text(s string) figure               { return figure{text: s} }

func (f figure) measured() bool { return f.text == "" && !math.IsNaN(f.v) }

// result is one line of the table.
type result struct {
	row    string
	what   string
	unit   unit
	crm    figure
	base   figure
	target string
	met    string // "yes", "no", or "" when the line has no target
}

func (u unit) format(v float64) string {
	switch u {
	case unitSeconds:
		switch a := math.Abs(v); {
		case a == 0:
			return "0"
		case a < 1e-6:
			return fmt.Sprintf("%.0f ns", v*1e9)
		case a < 1e-3:
			return fmt.Sprintf("%.2f µs", v*1e6)
		case a < 1:
			return fmt.Sprintf("%.2f ms", v*1e3)
		default:
			return fmt.Sprintf("%.2f s", v)
		}
	case unitBytes:
		return fmt.Sprintf("%.1f MB", v/1e6)
	case unitPerSecond:
		return fmt.Sprintf("%s/s", group(v))
	default:
		return fmt.Sprintf("%.2f×", v)
	}
}

// group prints v rounded, with thousands separators.
func group(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (r result) cell(f figure) string {
	if f.text != "" {
		return f.text
	}
	s := r.unit.format(f.v)
	if f.note != "" {
		s += " (" + f.note + ")"
	}
	return s
}

// ratio is crmaccess ÷ baseline; a very small one prints as 1/N.
func (r result) ratio() string {
	if !r.crm.measured() || !r.base.measured() || r.base.v == 0 {
		return "—"
	}
	q := r.crm.v / r.base.v
	switch {
	case q == 0:
		return "0"
	case q < 0.01:
		return "1/" + group(1/q)
	case q < 10:
		return fmt.Sprintf("%.2f", q)
	default:
		return group(q)
	}
}

// printTable writes the results as one Markdown table.
func printTable(w io.Writer, results []result) {
	fmt.Fprintln(w, "| row | figure | crmaccess | baseline | crmaccess ÷ baseline | target | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range results {
		met := r.met
		if met == "" {
			met = "—"
		}
		target := r.target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.row, r.what, r.cell(r.crm), r.cell(r.base), r.ratio(), target, met)
	}
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// databases are the columns of the several-instance table.
var databases = [2]string{"SQLite", "PostgreSQL"}

// sideResult is one line of the several-instance table (rows 9 to 15):
// one figure on each database, measured in the same run.
type sideResult struct {
	row    string
	what   string
	unit   unit
	on     [2]figure // by databases; a database not run shows "not run"
	target [2]string // by databases; "" when the line has no target
	met    [2]string // "yes", "no", or ""
}

// sameTarget is a target for both databases.
func sameTarget(t string) [2]string { return [2]string{t, t} }

// printSideTable writes the several-instance results as one Markdown
// table, SQLite and PostgreSQL side by side.
func printSideTable(w io.Writer, results []sideResult) {
	fmt.Fprintf(w, "| row | figure | %s | %s | target | met |\n", databases[0], databases[1])
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range results {
		line := result{unit: r.unit}
		target := r.target[0]
		if r.target[1] != r.target[0] {
			target = r.target[0] + " / " + r.target[1]
		}
		met := "—"
		if r.met[0] != "" || r.met[1] != "" {
			met = cmp.Or(r.met[0], "—") + " / " + cmp.Or(r.met[1], "—")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.row, r.what, line.cell(r.on[0]), line.cell(r.on[1]),
			cmp.Or(target, "—"), met)
	}
}
