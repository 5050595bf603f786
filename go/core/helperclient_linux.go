package core

// The host's side of the helper: the helper executable's side is
// go/internal/helperserver, what they say to each other go/internal/wire.
//
// The helper is started at the first spawn, from the executable named by the
// environment variable PAWWORK_SUPERVISOR_HELPER ("0" or "off" disables it) or, by
// default, the exact path the host handed down with Configure's HelperPath (lib/addon.ts's
// resolver finds pawwork-supervisor-helper beside the library; the library never looks
// for itself: a /proc/self/maps scan broke on a path with two spaces in a row). If it is missing, cannot
// start or dies, spawning goes on without it (weaker containment: no re-parenting
// of orphans, no cleanup at host death) and Containment() says why; a dead helper is
// restarted for later spawns, at most once a second.
//
// The host's thread (Node's event loop) never waits long on the helper: a new
// helper's hello is awaited until helloWait after its start at most, by every spawn
// made meanwhile (a loaded machine can take hundreds of ms to start it, and a spawn
// that went ahead without it would lose the helper's containment for good; past that
// deadline nothing waits: a helper that says nothing is given helloBound in the
// background, then killed); its
// death is seen at once (our copy of its socket end is closed right after the
// fork, and its pidfd is watched), and it is always reaped.

import (
	"fmt"
	"os"
	"time"
)

// Containment reports the containment of the next spawn, starting the helper if it
// is not running yet (so that the answer is true, not a guess; a helper that has
// not said hello within helloWait is reported as such).
func Containment() ContainmentInfo {
	conn, reason := getHelper()
	if conn != nil {
		g := []string{"session", "pgroup", "pidfd", "ancestry", "subreaper", "host-death", "clean-exec"}
		if conn.cgroup != "" {
			g = append(g, "cgroup") // the tree is its cgroup: no marker is added to the environment
		} else {
			g = append(g, "marker")
		}
		return ContainmentInfo{Mode: "helper", HelperPid: conn.pid, HelperPath: conn.path, Cgroup: conn.cgroup,
			CgroupReason: conn.cgroupReason, Guarantees: g}
	}
	return ContainmentInfo{Mode: "fallback", Reason: reason,
		Guarantees: []string{"session", "pgroup", "pidfd", "ancestry", "marker"}}
}

func cgroupSetting() string {
	if helperState.cgroupSet {
		return helperState.cgroup
	}
	return os.Getenv("PAWWORK_SUPERVISOR_CGROUP")
}

// stopHelper closes the running helper's socket, as a dying host would, and waits
// (bounded) for it to kill what it holds and exit. For tests.
func stopHelper(bound time.Duration) error {
	c := takeHelper()
	if c == nil {
		return nil
	}
	c.shutdown()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		dead := c.dead
		c.mu.Unlock()
		c.proc.mu.Lock()
		reaped := c.proc.reaped
		c.proc.mu.Unlock()
		if dead && reaped {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("helper %d still alive %v after its socket closed", c.pid, bound)
}
