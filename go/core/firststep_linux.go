package core

// signalMembersBatch is the second step of a batch of first steps (firstSteps): the
// members of every tree found with one view of the landing points per pass for all
// of them, and signalled; then(s) runs once s's tree was.
func signalMembersBatch(batch []*firstStep, then func(s *firstStep)) {
	ps := make([]*proc, len(batch))
	sigs := make([]int, len(batch))
	for i, s := range batch {
		ps[i], sigs[i] = s.c.p, s.sig
	}
	signalMembersOf(ps, sigs, func(i int) { then(batch[i]) })
}
