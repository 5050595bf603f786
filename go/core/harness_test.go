//go:build linux

package core

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/pawwork/pawwork-supervisor/go/internal/fdcheck"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bound is the hang detector of every wait in these tests: generous, because a
// 2-core machine running -race is slow; exceeding it fails the test.
const bound = 20 * time.Second

// harness pumps one hub in a goroutine, as the binding's pump thread does, and
// files every record under its child so that a test can wait for what it needs.
// Its cleanup kills everything the test started and checks that nothing leaked.
type harness struct {
	t   *testing.T
	hub *Hub

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever something is recorded
	kids     map[int64]*kid
	hubDone  bool // Next returned -1
	problems []string
	tracked  map[int]uint64 // pid → start time, for kills that never hit a re-used pid

	pumpDone chan struct{}
	baseFds  int
}

// kid is what the pump recorded for one child handle.
type kid struct {
	c       *Child
	types   []uint32 // every event type in arrival order
	stdout  []byte
	stderr  []byte
	acks    []ack
	exited  bool
	outcome *Outcome
	raw     []byte   // the EXIT payload
	closed  *Outcome // HoldLeftovers: the CLOSE payload
}

type ack struct {
	seq  int64
	code string // "" on success
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t: t, hub: NewHub(), changed: make(chan struct{}), kids: map[int64]*kid{},
		tracked: map[int]uint64{}, pumpDone: make(chan struct{}),
	}
	h.baseFds = fdcheck.Count()
	go h.pump()
	t.Cleanup(h.cleanup)
	return h
}

func (h *harness) pump() {
	defer close(h.pumpDone)
	buf := make([]byte, MinBatch)
	for {
		n := h.hub.Next(buf, 100*time.Millisecond)
		if n < 0 {
			h.mu.Lock()
			h.hubDone = true
			h.notifyLocked()
			h.mu.Unlock()
			return
		}
		if n > 0 {
			h.record(buf[:n])
		}
	}
}

func leU32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func leI64(b []byte) int64  { return int64(binary.LittleEndian.Uint64(b)) }

// record files one batch; a record cut by the batch's end is a problem.
func (h *harness) record(batch []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for off := 0; off < len(batch); {
		if len(batch)-off < EventHeaderSize {
			h.problems = append(h.problems, fmt.Sprintf("batch of %d ends inside a header at %d", len(batch), off))
			break
		}
		typ, plen := leU32(batch[off+RecordTypeAt:]), int(leU32(batch[off+RecordLenAt:]))
		handle, aux := leI64(batch[off+RecordHandleAt:]), leI64(batch[off+RecordAuxAt:])
		if off+EventHeaderSize+plen > len(batch) {
			h.problems = append(h.problems, fmt.Sprintf("record at %d (type %d, len %d) overruns the batch of %d", off, typ, plen, len(batch)))
			break
		}
		payload := batch[off+EventHeaderSize : off+EventHeaderSize+plen]
		off += EventHeaderSize + plen
		k := h.kidLocked(handle)
		if k.exited {
			h.problems = append(h.problems, fmt.Sprintf("child %d: event %d after EXIT", handle, typ))
		}
		k.types = append(k.types, typ)
		switch typ {
		case EvStdout:
			k.stdout = append(k.stdout, payload...)
		case EvStderr:
			k.stderr = append(k.stderr, payload...)
		case EvStdinAck:
			a := ack{seq: aux}
			if plen > 0 {
				var e struct{ Code, Message string }
				if err := json.Unmarshal(payload, &e); err != nil || e.Code == "" || !strings.HasPrefix(e.Message, "pawwork-supervisor:") {
					h.problems = append(h.problems, fmt.Sprintf("child %d: bad STDIN_ACK payload %q", handle, payload))
				}
				a.code = e.Code
			}
			k.acks = append(k.acks, a)
		case EvExit:
			k.exited = true
			k.raw = append([]byte(nil), payload...)
			var o Outcome
			if err := json.Unmarshal(payload, &o); err != nil {
				h.problems = append(h.problems, fmt.Sprintf("child %d: EXIT payload %q: %v", handle, payload, err))
			}
			k.outcome = &o
		case EvClose:
			var o Outcome
			if err := json.Unmarshal(payload, &o); err != nil || k.closed != nil {
				h.problems = append(h.problems, fmt.Sprintf("child %d: CLOSE payload %q (%v) or a second CLOSE", handle, payload, err))
			}
			k.closed = &o
		case EvStdoutEnd, EvStderrEnd:
		default:
			h.problems = append(h.problems, fmt.Sprintf("child %d: unknown event type %d", handle, typ))
		}
	}
	h.notifyLocked()
}

func (h *harness) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *harness) kidLocked(handle int64) *kid {
	k := h.kids[handle]
	if k == nil {
		k = &kid{}
		h.kids[handle] = k
	}
	return k
}

// start starts a child or fails the test.
func (h *harness) start(o *Options) *Child {
	h.t.Helper()
	c, err := h.tryStart(o)
	if err != nil {
		h.t.Fatalf("Start(%q): %v", o.Argv, err)
	}
	return c
}

func (h *harness) tryStart(o *Options) (*Child, error) {
	c, err := Start(h.hub, o)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.kidLocked(c.ID()).c = c
	h.mu.Unlock()
	h.track(c.Pid())
	return c, nil
}

// waitFor waits up to bound for cond (called under the lock) to hold.
func (h *harness) waitFor(c *Child, what string, cond func(k *kid) bool) {
	h.t.Helper()
	if !h.waitForWithin(c, bound, cond) {
		k := h.kidCopy(c) // never Fatalf under h.mu: cleanup needs it
		h.t.Fatalf("child %d (pid %d): no %s within %v; stdout %q, stderr %q", c.ID(), c.Pid(), what, bound, tail(k.stdout), tail(k.stderr))
	}
}

func (h *harness) waitForWithin(c *Child, d time.Duration, cond func(k *kid) bool) bool {
	deadline := time.After(d)
	for {
		h.mu.Lock()
		ok := cond(h.kidLocked(c.ID()))
		ch := h.changed
		h.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

func tail(b []byte) string {
	if len(b) > 300 {
		return "…" + string(b[len(b)-300:])
	}
	return string(b)
}

// waitExit waits for the child's EXIT and returns its outcome.
func (h *harness) waitExit(c *Child) *Outcome {
	h.t.Helper()
	h.waitFor(c, "EXIT", func(k *kid) bool { return k.exited })
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.kids[c.ID()].outcome
}

// waitStdout waits until the child's stdout contains s and tracks every pid that
// the helpers printed so far.
func (h *harness) waitStdout(c *Child, s string) {
	h.t.Helper()
	h.waitFor(c, fmt.Sprintf("%q on stdout", s), func(k *kid) bool { return bytes.Contains(k.stdout, []byte(s)) })
	h.trackPrinted(c)
}

var printedPid = regexp.MustCompile(`\b(?:gc|pid)=(\d+)`)

// trackPrinted tracks the pids the helpers printed ("gc=N", "pid=N") and returns them
// in order of appearance.
func (h *harness) trackPrinted(c *Child) []int {
	var pids []int
	for _, m := range printedPid.FindAllStringSubmatch(string(h.stdout(c)), -1) {
		pid, _ := strconv.Atoi(m[1])
		if pid != c.Pid() {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		h.track(pid)
	}
	return pids
}

func (h *harness) kidCopy(c *Child) kid {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := *h.kidLocked(c.ID())
	k.stdout = append([]byte(nil), k.stdout...)
	k.stderr = append([]byte(nil), k.stderr...)
	k.types = append([]uint32(nil), k.types...)
	k.acks = append([]ack(nil), k.acks...)
	return k
}

func (h *harness) stdout(c *Child) []byte { return h.kidCopy(c).stdout }
func (h *harness) stderr(c *Child) []byte { return h.kidCopy(c).stderr }

// track registers pid to be killed (if still the same process) in cleanup and
// checked gone.
func (h *harness) track(pid int) {
	st, ok := procInfo(pid)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, seen := h.tracked[pid]; seen {
		return
	}
	if ok {
		h.tracked[pid] = st.start
	} else {
		h.tracked[pid] = 0 // already gone
	}
}

// cleanup kills what the test started, waits for it to be gone, closes the hub and
// checks the invariants every test shares: no process left, no fd leaked, events
// well formed and EXIT last.
func (h *harness) cleanup() {
	t := h.t
	h.mu.Lock()
	var running []*Child
	for _, k := range h.kids {
		if k.c != nil && !k.exited && !k.c.forgotten.Load() {
			running = append(running, k.c)
		}
	}
	tracked := make(map[int]uint64, len(h.tracked))
	for p, s := range h.tracked {
		tracked[p] = s
	}
	h.mu.Unlock()
	for _, c := range running {
		c.Cancel(ReasonHost, sigKILL, 0)
	}
	for pid, start := range tracked {
		if st, ok := procInfo(pid); ok && start != 0 && st.start == start {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, c := range running {
		if !h.waitForWithin(c, bound, func(k *kid) bool { return k.exited }) {
			t.Errorf("cleanup: child %d (pid %d) has no EXIT within %v of a SIGKILL cancel", c.ID(), c.Pid(), bound)
		}
	}
	if left := waitGone(tracked, bound); len(left) > 0 {
		t.Errorf("cleanup: still alive %v after SIGKILL and %v", left, bound)
	}
	if kids := waitNoChildren(bound); len(kids) > 0 {
		t.Errorf("cleanup: the test process still has live children %v", kids)
		for _, k := range kids {
			syscall.Kill(k, syscall.SIGKILL)
		}
	}
	if !h.hub.Close(5 * time.Second) {
		t.Errorf("cleanup: Hub.Close bound fired")
	}
	select {
	case <-h.pumpDone:
	case <-time.After(bound):
		t.Errorf("cleanup: Next did not return -1 within %v of Close", bound)
	}

	h.mu.Lock()
	for _, p := range h.problems {
		t.Errorf("event stream: %s", p)
	}
	for id, k := range h.kids {
		if k.c == nil {
			t.Errorf("events for handle %d that no Start returned", id)
			continue
		}
		checkOrder(t, id, k)
	}
	h.mu.Unlock()

	deadline := time.Now().Add(5 * time.Second)
	n := fdcheck.Count()
	for n != h.baseFds && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = fdcheck.Count()
	}
	if n != h.baseFds {
		t.Errorf("fd leak: %d open fds before the test, %d after:\n%s", h.baseFds, n, fdcheck.Describe())
	}
}

// checkOrder checks one child's event sequence: output of a stream never follows
// its END, each END at most once, EXIT exactly once and last (after both ENDs of
// piped streams).
func checkOrder(t *testing.T, id int64, k *kid) {
	t.Helper()
	ended := map[uint32]int{}
	exits := 0
	for i, typ := range k.types {
		switch typ {
		case EvStdout, EvStderr:
			if ended[typ+EvStdoutEnd-EvStdout] > 0 {
				t.Errorf("child %d: output type %d at %d after its END", id, typ, i)
			}
		case EvStdoutEnd, EvStderrEnd:
			ended[typ]++
			if ended[typ] > 1 {
				t.Errorf("child %d: END %d twice", id, typ)
			}
		case EvExit:
			exits++
			if i != len(k.types)-1 {
				t.Errorf("child %d: EXIT at %d of %d events", id, i, len(k.types))
			}
		}
	}
	if exits != 1 && !k.c.forgotten.Load() {
		t.Errorf("child %d: %d EXIT events", id, exits)
	}
	o := k.c.opts
	if o.Stdout == StdioPipe && ended[EvStdoutEnd] != 1 && exits == 1 {
		t.Errorf("child %d: EXIT without STDOUT_END", id)
	}
	if o.Stderr == StdioPipe && ended[EvStderrEnd] != 1 && exits == 1 {
		t.Errorf("child %d: EXIT without STDERR_END", id)
	}
}

// procState is what the tests read from /proc/<pid>/stat.
type procState struct {
	state           byte
	ppid, pgid, sid int
	start           uint64 // field 22, clock ticks after boot: tells a re-used pid apart
}

func procInfo(pid int) (procState, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procState{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procState{}, false
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 20 {
		return procState{}, false
	}
	var st procState
	st.state = f[0][0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgid, _ = strconv.Atoi(f[2])
	st.sid, _ = strconv.Atoi(f[3])
	st.start, _ = strconv.ParseUint(f[19], 10, 64)
	return st, true
}

// alive reports whether pid is a live process (a zombie counts as dead: pid 1
// here reaps orphans slowly).
func alive(pid int) bool {
	st, ok := procInfo(pid)
	return ok && st.state != 'Z' && st.state != 'X'
}

// aliveTracked is alive for a pid recorded with its start time.
func aliveTracked(pid int, start uint64) bool {
	st, ok := procInfo(pid)
	return ok && (start == 0 || st.start == start) && st.state != 'Z' && st.state != 'X'
}

func waitGone(pids map[int]uint64, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for pid, start := range pids {
			if start != 0 && aliveTracked(pid, start) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			sort.Ints(left)
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitNoChildren waits until the test process has no live child.
func waitNoChildren(d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var kids []int
		for _, pid := range Descendants(os.Getpid()) {
			if st, ok := procInfo(pid); ok && st.ppid == os.Getpid() {
				kids = append(kids, pid)
			}
		}
		if len(kids) == 0 || time.Now().After(deadline) {
			return kids
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertAllDead fails unless every pid is dead (or a zombie) now.
func assertAllDead(t *testing.T, what string, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("%s: pid %d is still alive", what, pid)
		}
	}
}

func i64(v int64) *int64 { return &v }

// fields parses "key=value" tokens from helper output into a map (last one wins).
func fields(s string) map[string]string {
	m := map[string]string{}
	for _, tok := range strings.Fields(s) {
		if k, v, ok := strings.Cut(tok, "="); ok {
			m[k] = v
		}
	}
	return m
}
