package core

var slots = make(chan struct{}, blockingSlots)

// blocking takes one of the blockingSlots for a stretch of slow blocking syscalls
// (a /proc scan, a fork+exec) and returns its release. Use: defer blocking()().
// Never call it while holding a slot.
func blocking() (release func()) {
	slots <- struct{}{}
	busyBegin()
	return func() {
		busyEnd()
		<-slots
	}
}

// probeThreads checks, when the host gave a way to (ProbeThreads), that n more
// threads can be had now.
func probeThreads(n int) error {
	if ProbeThreads == nil {
		return nil
	}
	return ProbeThreads(n)
}
