package policy

// The audit path: Casbin's own Enforce over the same lines, through the
// read-only role managers of rolemanager.go.

// resetCasbin drops the g answers Casbin memoizes in its cached matcher.
func (g *Engine) resetCasbin() {
	g.casbinMu.Lock()
	for _, t := range ruleTypes {
		g.casbin.SetNamedRoleManager(t, g.casbin.GetNamedRoleManager(t))
	}
	g.casbinMu.Unlock()
}

// Enforce asks Casbin's own Enforce, with the embedded model, over the same
// lines: sub is a user id, obj a record's policy name (see Object), act one
// of read, edit, delete, access. It is the audit path: slower than Decide,
// and Casbin memoizes its answers until the next write.
func (g *Engine) Enforce(sub, obj, act string) (bool, error) {
	g.casbinMu.RLock()
	defer g.casbinMu.RUnlock()
	return g.casbin.Enforce(sub, obj, act)
}
