package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar draws "label [=====>     ] done/total" on one line of w,
// redrawn in place, at most every interval and always at the end. It draws
// nothing when it is off.
type progressBar struct {
	w        io.Writer
	label    string
	on       bool
	interval time.Duration
	last     time.Time
	drawn    bool
}

const barWidth = 30

// newProgress returns the bar of a long scan: on when forced (-progress)
// or when w is a terminal, so that a pipe or a CI log gets no carriage
// returns.
func (a *audit) newProgress(label string) *progressBar {
	return &progressBar{w: a.stderr, label: label, on: a.progress || isTerminal(a.stderr), interval: 100 * time.Millisecond}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update shows done of total.
func (p *progressBar) update(done, total int) {
	if !p.on || total <= 0 {
		return
	}
	now := time.Now()
	if done < total && p.drawn && now.Sub(p.last) < p.interval {
		return
	}
	p.last, p.drawn = now, true
	filled := barWidth * done / total
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d", p.label, bar, done, total)
}

// finish ends the bar's line, so that what follows starts on its own.
func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
