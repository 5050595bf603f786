package core

import (
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// groupSettle is how long after a batch's group signals the walk for each tree's
// other members waits at most for the leaders that have children to end. A tree
// whose group took the signal is dying meanwhile: a walk at once reads every member
// while the kernel tears them down, and competes with them for the CPU (measured on
// a TERM-respecting 101-process tree: that walk took 8-15 ms of a 15-20 ms cancel),
// where a walk after the leader's end reads the few members that outlive it. The
// members outside the group (the only ones the walk's signal reaches first) get
// theirs at most this much later, and the ladder's grace starts once they have.
const groupSettle = 10 * time.Millisecond

// signalMembersBatch is the second step of a batch of first steps (firstSteps): the
// members of every tree found with one view of the landing points per pass for all
// of them, and signalled; then(s) runs once s's tree was.
func signalMembersBatch(batch []*firstStep, then func(s *firstStep)) {
	awaitLeaders(batch, batch[0].at.Add(groupSettle))
	ps := make([]*proc, len(batch))
	for i, s := range batch {
		ps[i] = s.c.p
	}
	treesOf(ps, func(i int, members []procfs.Stat) {
		ps[i].signalFound(batch[i].sig, members)
		then(batch[i])
	})
}

// awaitLeaders waits until the leader of every step of batch that has children has
// ended, or until deadline: a pause, not a bound on something that must happen (a
// leader that outlives its signal is the ladder's to wait for). A leader without
// children (most of a mass cancel's) is not waited for: its walk is short anyway.
func awaitLeaders(batch []*firstStep, deadline time.Time) {
	var parents []*firstStep
	for _, s := range batch {
		select {
		case <-s.c.leaderEnd:
			continue
		default:
		}
		if len(procfs.MainChildren(s.c.p.pid)) > 0 {
			parents = append(parents, s)
		}
	}
	for _, s := range parents {
		if !s.c.waitLeaderEnd(deadline) {
			return
		}
	}
}
