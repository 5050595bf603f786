package core

import "github.com/pawwork/pawwork-supervisor/go/internal/procfs"

// signalMembersBatch is the second step of a batch of first steps (firstSteps): the
// members of every tree found with one view of the landing points per pass for all
// of them, and signalled; then(s) runs once s's tree was.
func signalMembersBatch(batch []*firstStep, then func(s *firstStep)) {
	ps := make([]*proc, len(batch))
	for i, s := range batch {
		ps[i] = s.c.p
	}
	treesOf(ps, func(i int, members []procfs.Stat) {
		ps[i].signalFound(batch[i].sig, members)
		then(batch[i])
	})
}
