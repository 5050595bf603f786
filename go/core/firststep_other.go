//go:build !linux

package core

// procView is Linux's (tree_linux.go): elsewhere a tree is found without one.
type procView struct{}

func viewFor([]*firstStep) *procView { return nil }

// signalGroup and signalMembers split signalTree in two on Linux (treekill_linux.go);
// elsewhere the whole of it is the first step.
func (p *proc) signalGroup(sig int) { p.signalTree(sig) }

func (p *proc) signalMembers(int, *procView) {}
