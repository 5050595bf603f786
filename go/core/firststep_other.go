//go:build !linux

package core

// signalGroup is the first step of signalTree on Linux (treekill_linux.go), whose
// second is signalMembersBatch; elsewhere the whole of it is the first step.
func (p *proc) signalGroup(sig int) { p.signalTree(sig) }

func signalMembersBatch(batch []*firstStep, then func(s *firstStep)) {
	for _, s := range batch {
		then(s)
	}
}
