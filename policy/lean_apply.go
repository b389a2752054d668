package policy

import "github.com/crmaccess/crmaccess"

var _ crmaccess.PartApplier = (*Engine)(nil)

// ApplyParts is Apply of the rules parts hands over part by part: each
// part is parsed as it comes, into lines of a fraction of a Rule's size,
// and once parts returns, every part's removals then additions are made,
// all visible at once. removes and adds are how many rules the parts
// hold, for room. An unknown rule, or an error of parts, fails the whole
// call before anything changes.
func (g *Engine) ApplyParts(removes, adds int, parts func(apply func(remove, add []crmaccess.Rule) error) error) error {
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	x := g.x.Load()
	rm, ad := make([]entry, 0, removes), make([]entry, 0, adds)
	parse := func(into *[]entry, rules []crmaccess.Rule) error {
		for _, r := range rules {
			e, err := x.parse(r)
			if err != nil {
				return err
			}
			*into = append(*into, e)
		}
		return nil
	}
	err := parts(func(remove, add []crmaccess.Rule) error {
		if err := parse(&rm, remove); err != nil {
			return err
		}
		return parse(&ad, add)
	})
	if err != nil {
		// Parsing interned the users it met: forget them again.
		x.release(rm)
		x.release(ad)
		return err
	}
	g.applyParsed(x, rm, ad)
	return nil
}
