//go:build linux || darwin

package core

// What the host's side of the helper is the same for on Linux and macOS: which
// helper runs (Configure, PAWWORK_SUPERVISOR_HELPER, the path the host handed down),
// when a spawn waits for it (getHelper, settleHelper: one deadline per helper), and
// what becomes of one that never says hello. How it is started and spoken to is
// each platform's (helperconn_linux.go, helperclient_darwin.go).

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

// helloWait bounds how long a spawn (or Containment) waits for a new helper's
// hello; a helper starts in a few ms. helloBound is how long a silent one is given
// in the background before it is killed.
const (
	helloWait  = HelloWait // PWS_HELLO_WAIT_MS
	helloBound = 5 * time.Second
)

var helperState struct {
	mu       sync.Mutex
	conn     *helperConn
	reason   string // why there is no helper, when there is none
	lastFail time.Time

	override    string
	overridden  bool
	defaultPath string // the helper the host found (Config.HelperPath)
	cgroup      string // Linux only: macOS has no cgroups
	cgroupSet   bool
}

// Configure overrides PAWWORK_SUPERVISOR_HELPER and PAWWORK_SUPERVISOR_CGROUP (the
// host's environment as Go saw it when the library loaded; a host that sets them
// later passes them here). Helper: "" for the default (HelperPath, as the host found it),
// "0"/"off" to disable, else a path. Cgroup (Linux only): "" to use one when writable,
// "0"/"off" never, else the directory to make the subtree in. Both apply from the next
// start of the helper; a running helper is kept.
func Configure(cfg Config) {
	helperState.mu.Lock()
	defer helperState.mu.Unlock()
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
}

// SetHelper is Configure with the helper setting only.
func SetHelper(v string) { Configure(Config{Helper: &v}) }

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
// helloWait once, whatever the number of calls). A helper that failed is not
// started again within a second.
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
		helperState.reason, helperState.lastFail = err.Error(), time.Now()
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
	helperState.conn, helperState.reason, helperState.lastFail = nil, why, time.Now()
	return nil, why
}

// killIfSilent, run once per started helper: one that never says hello, or whose
// first word is not one, is of no use and killed (after helloBound if it says
// nothing).
func (c *helperConn) killIfSilent() {
	t := time.NewTimer(helloBound)
	defer t.Stop()
	select {
	case <-c.hello:
		c.mu.Lock()
		said := c.said
		c.mu.Unlock()
		if said {
			return
		}
	case <-t.C:
		c.fail(fmt.Sprintf("helper %s did not say hello within %v", c.path, helloBound))
	}
	c.kill()
}

// fail records why the helper is of no use, first reason first.
func (c *helperConn) fail(why string) {
	c.mu.Lock()
	if c.why == "" {
		c.why = why
	}
	c.mu.Unlock()
}

// helperEnv is the helper's environment and stderr: the host's stderr only when
// asked for (HelperDebugVar), since a helper that hangs or outlives the host must
// not hold it (a parent of the host may wait for its EOF); else null's fd.
func helperEnv(null *os.File) (env []string, stderr uintptr) {
	env = []string{"PATH=/usr/bin:/bin"}
	stderr = null.Fd()
	if v := os.Getenv(HelperDebugVar); v != "" {
		env = append(env, HelperDebugVar+"="+v)
		stderr = 2
	}
	return env, stderr
}

// takeHelper forgets the running helper and returns it (nil if none), for
// stopHelper.
func takeHelper() *helperConn {
	helperState.mu.Lock()
	defer helperState.mu.Unlock()
	c := helperState.conn
	helperState.conn = nil
	return c
}
