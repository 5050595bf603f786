package core

// Marker containment: a tree without a cgroup of its own inherits a variable naming
// it with a random token, which finds a member that left the session and whose
// parent died.

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// MarkerVar is the environment variable a supervised tree inherits when it has no
// cgroup of its own, naming it with a random token: what finds a member that left
// the session and whose parent died. It is evidence only for processes of the
// host's own user (a process of another user could copy it), and unguessable.
const MarkerVar = "PAWWORK_SUPERVISOR_TREE"

// newMarker is "PAWWORK_SUPERVISOR_TREE=<128 random bits in hex>".
func newMarker() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux (getrandom)
	}
	return MarkerVar + "=" + hex.EncodeToString(b[:])
}

// hostUIDs are the uids whose processes marker evidence may name: the host's real
// and effective uid (the spawn never changes the leader's uid).
var hostUIDs = [2]int{os.Getuid(), os.Geteuid()}

// markCheck is what the environ reads of one process found: has is final once
// sure; an unreadable or empty environ (a process inside execve, a kernel thread) is
// read again at the next scan, a few times.
type markCheck struct {
	has, sure bool
	tries     uint8
}

// carriesMarker reports whether st's process carries the tree's marker (and runs
// as the host's user), reading its environment at most a few times. Called with
// p.mu held.
func (p *proc) carriesMarker(st procfs.Stat) bool {
	// Only the leader's descendants carry the marker, and they all started
	// after it: the older processes of the machine need no environ read (at
	// every natural exit the scan runs over all of them).
	if p.marker == nil || st.Start < p.start {
		return false
	}
	if p.marked == nil {
		p.marked = map[procfs.Key]markCheck{}
	}
	key := st.Key()
	m := p.marked[key]
	if !m.sure && m.tries < 3 {
		has, sure := p.readMarker(st.Pid)
		m = markCheck{has: has, sure: sure, tries: m.tries + 1}
		p.marked[key] = m
	}
	return m.has
}

// readMarker reads whether pid's environment holds the tree's marker (sure: the
// environment could be read). Evidence a process of another user could forge by
// copying the variable: it counts only for the host's own user.
func (p *proc) readMarker(pid int) (has, sure bool) {
	has, sure = environHas(pid, p.marker)
	if has {
		has = ownUser(pid)
	}
	return has, sure
}

// Bounds of settleMarker: an environ read again at most this many times per
// process, this far apart, over all looks of all trees. An execve makes a process's
// environ read empty from the moment its new memory is in place until the new
// program's stack is set up, well under a millisecond unless the machine is loaded.
const (
	markerSettleTries = 5
	markerSettlePause = 2 * time.Millisecond
)

// settlePauses counts the pauses settleMarker spent on each process, for every tree
// at once: a process that cleared its whole environment costs its few pauses once,
// not once per tree (a thousand trees cancelled together would each wait for it).
// Emptied when it grows large (its keys are processes that may be long gone).
var settlePauses struct {
	sync.Mutex
	m map[procfs.Key]uint8
}

// takeSettlePause reports whether key's process may be waited for once more.
func takeSettlePause(key procfs.Key) bool {
	settlePauses.Lock()
	defer settlePauses.Unlock()
	if settlePauses.m == nil || len(settlePauses.m) >= 1024 {
		settlePauses.m = map[procfs.Key]uint8{}
	}
	if settlePauses.m[key] >= markerSettleTries {
		return false
	}
	settlePauses.m[key]++
	return true
}

// settleMarker reads again, a short pause apart, the environ of a live candidate
// whose read was empty or failed (see carriesMarker): a member caught inside an
// execve (a setsid'd process exec'ing its program just as its parent, the leader,
// exits) reads as if it had no environment, and a natural exit's single look would
// let it go unseen, holding the pipe. It reports whether st's process carries the
// marker; false once it ended, or when the reads stayed unsure within the pauses
// settlePauses allows: a process that cleared its whole environment, which is no
// evidence either way (the walk still looks at its children; the limit of marker
// containment README names). Called without p.mu.
func (p *proc) settleMarker(st procfs.Stat) bool {
	key := st.Key()
	for {
		p.mu.Lock()
		m := p.marked[key]
		p.mu.Unlock()
		if m.sure {
			return m.has
		}
		if !takeSettlePause(key) {
			return false
		}
		time.Sleep(markerSettlePause)
		if now, ok := procfs.ReadStat(st.Pid); !ok || now.Dead() || now.Start != st.Start {
			return false
		}
		has, sure := p.readMarker(st.Pid)
		p.mu.Lock()
		if p.marked != nil {
			p.marked[key] = markCheck{has: has, sure: sure, tries: m.tries + 1}
		}
		p.mu.Unlock()
	}
}

// environHas is procfs.EnvironHas (a variable: a test makes a member read as if it
// were inside an execve).
var environHas = procfs.EnvironHas

// forgetMarkChecks drops the checks of processes the last scan no longer saw.
// Called with p.mu held.
func (p *proc) forgetMarkChecks(seen map[procfs.Key]bool) {
	for key := range p.marked {
		if !seen[key] {
			delete(p.marked, key)
		}
	}
}

// ownUser reports whether pid's real uid is the host's: a process of another user
// is never signalled on marker evidence alone.
func ownUser(pid int) bool {
	uid, ok := procfs.RealUID(pid)
	return ok && (uid == hostUIDs[0] || uid == hostUIDs[1])
}
