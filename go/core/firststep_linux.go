package core

// viewFor is the view of the landing points that the trees of batch, just signalled
// at their groups, share to find their other members: nil when none needs one
// (each has a cgroup).
func viewFor(batch []*firstStep) *procView {
	for _, s := range batch {
		if s.c.p.needsView() {
			return procViews.get()
		}
	}
	return nil
}
