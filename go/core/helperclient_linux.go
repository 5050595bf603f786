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
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
)

// HelperName is the helper executable's file name (the host's resolver looks for it beside the library).
const HelperName = "pawwork-supervisor-helper"

// HelperArg is the argument the helper executable is started with; a program that
// embeds the helper (the Go tests do) checks for it in os.Args[1].
const HelperArg = wire.Arg

// HelperDebugVar, set in the host's environment, keeps the helper's stderr (the
// host's) instead of /dev/null, for its diagnostics.
const HelperDebugVar = wire.DebugVar

var helperState struct {
	mu       sync.Mutex
	conn     *helperConn
	reason   string // why there is no helper, when there is none
	lastFail time.Time

	override    string
	overridden  bool
	defaultPath string // the helper the host found (Config.HelperPath)
	cgroup      string
	cgroupSet   bool
}

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

// Configure overrides PAWWORK_SUPERVISOR_HELPER and PAWWORK_SUPERVISOR_CGROUP (the
// host's environment as Go saw it when the library loaded; a host that sets them
// later passes them here). Helper: "" for the default (HelperPath, as the host found it),
// "0"/"off" to disable, else a path. Cgroup: "" to use one when writable, "0"/"off"
// never, else the directory to make the subtree in. Both apply from the next start
// of the helper; a running helper is kept.
func Configure(cfg Config) {
	helperState.mu.Lock()
	if cfg.Helper != nil {
		helperState.override, helperState.overridden = *cfg.Helper, true
	}
	if cfg.Cgroup != nil {
		helperState.cgroup, helperState.cgroupSet = *cfg.Cgroup, true
	}
	if cfg.HelperPath != nil {
		helperState.defaultPath = *cfg.HelperPath
	}
	if helperState.conn == nil {
		helperState.reason, helperState.lastFail = "", time.Time{}
	}
	helperState.mu.Unlock()
}

// SetHelper is Configure with the helper setting only.
func SetHelper(v string) { Configure(Config{Helper: &v}) }

func cgroupSetting() string {
	if helperState.cgroupSet {
		return helperState.cgroup
	}
	return os.Getenv("PAWWORK_SUPERVISOR_CGROUP")
}

// stopHelper closes the running helper's socket, as a dying host would, and waits
// (bounded) for it to kill what it holds and exit. For tests.
func stopHelper(bound time.Duration) error {
	helperState.mu.Lock()
	c := helperState.conn
	helperState.conn = nil
	helperState.mu.Unlock()
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

func helperPath() (string, error) {
	v := os.Getenv("PAWWORK_SUPERVISOR_HELPER")
	if helperState.overridden {
		v = helperState.override
	}
	switch strings.ToLower(v) {
	case "0", "off", "false", "no":
		return "", errors.New("disabled by PAWWORK_SUPERVISOR_HELPER=" + v)
	case "":
	default:
		return v, nil
	}
	if helperState.defaultPath == "" {
		return "", errors.New("no helper path was handed down (the host's resolver passes it with pws_configure's helperPath)")
	}
	return helperState.defaultPath, nil
}

// getHelper returns the running helper for a spawn, starting it if needed, or why
// there is none. A spawn or Containment waits for a new helper's hello until
// helloWait after the helper's start (one deadline, so a silent helper costs
// helloWait once, whatever the number of calls).
func getHelper() (*helperConn, string) {
	helperState.mu.Lock()
	defer helperState.mu.Unlock()
	if c := helperState.conn; c != nil {
		return settleHelper(c)
	}
	if time.Since(helperState.lastFail) < time.Second && helperState.reason != "" && !strings.HasPrefix(helperState.reason, "disabled") {
		return nil, helperState.reason
	}
	path, err := helperPath()
	if err != nil {
		helperState.reason = err.Error()
		return nil, helperState.reason
	}
	c, err := startHelper(path)
	if err != nil {
		helperState.reason = err.Error()
		helperState.lastFail = time.Now()
		return nil, helperState.reason
	}
	helperState.conn, helperState.reason = c, ""
	return settleHelper(c)
}

// settleHelper, under helperState.mu, returns c when it said hello and is alive,
// waiting (bounded) for the hello of a new one; a helper of no use is dropped and
// its reason kept for the restart rule.
func settleHelper(c *helperConn) (*helperConn, string) {
	select {
	case <-c.hello:
	default:
		t := time.NewTimer(helloWait - min(time.Since(c.started), helloWait))
		select {
		case <-c.hello:
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	said, dead, why := c.said, c.dead, c.why
	c.mu.Unlock()
	switch {
	case said && !dead:
		return c, ""
	case !dead && why == "":
		return nil, fmt.Sprintf("helper %s (pid %d) has not said hello yet (started %v ago)", c.path, c.pid,
			time.Since(c.started).Round(time.Millisecond))
	}
	if why == "" {
		why = "the helper died"
	}
	helperState.conn = nil
	helperState.reason = why
	helperState.lastFail = time.Now()
	return nil, why
}
