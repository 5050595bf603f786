//go:build linux

package core

// Cost figures for issue 16 (flat costs), printed, never asserted: timing stays out
// of the tests. Run on demand:
//
//	PWS_PERF=1 go test ./go/core -run TestPerf -v -count=1
//
// PWS_PERF_MODES (fallback,helper-nocgroup,helper) and PWS_PERF_N (100,250,500)
// narrow what runs. Each figure is wall time and the CPU the test process (the
// host) and the helper used, with the load average at start.

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

func perfModes(t *testing.T) []string {
	if os.Getenv("PWS_PERF") == "" {
		t.Skip("PWS_PERF unset: figures on demand only")
	}
	if m := os.Getenv("PWS_PERF_MODES"); m != "" {
		return strings.Split(m, ",")
	}
	return []string{"fallback", "helper-nocgroup", "helper"}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuOf is the user+system CPU pid has used so far (clock ticks of 10 ms, read
// from /proc/<pid>/stat), for the helper.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter measures wall time and the CPU of the host and its helper.
type meter struct {
	t0           time.Time
	self, helper time.Duration
	helperPid    int
	load         string
}

func startMeter() *meter {
	m := &meter{t0: time.Now(), self: selfCPU(), load: loadavg()}
	if c, _ := getHelper(); c != nil {
		m.helperPid = c.pid
		m.helper = cpuOf(c.pid)
	}
	return m
}

func (m *meter) String() string {
	s := fmt.Sprintf("wall %v, host CPU %v", time.Since(m.t0).Round(time.Millisecond), (selfCPU() - m.self).Round(time.Millisecond))
	if m.helperPid != 0 {
		s += fmt.Sprintf(", helper CPU %v", (cpuOf(m.helperPid) - m.helper).Round(10*time.Millisecond))
	}
	return s + " (load " + m.load + ")"
}

// TestPerfCancelMany: N live children, cancelled at once, until every outcome is in.
func TestPerfCancelMany(t *testing.T) {
	ns := []int{100, 250, 500}
	if s := os.Getenv("PWS_PERF_N"); s != "" {
		ns = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			ns = append(ns, n)
		}
	}
	for _, mode := range perfModes(t) {
		for _, n := range ns {
			t.Run(fmt.Sprintf("%s/%d", mode, n), func(t *testing.T) {
				h := newHarness(t)
				withContainment(t, mode)
				kids := make([]*Child, n)
				for i := range kids {
					kids[i] = h.start(&Options{Argv: []string{"/bin/sleep", "100"}, GraceMs: i64(2000)})
				}
				m := startMeter()
				for _, c := range kids {
					c.Cancel(ReasonStop, 0, -1)
				}
				for _, c := range kids {
					if o := h.waitExit(c); len(o.Errors) > 0 {
						t.Errorf("outcome errors: %v", o.Errors)
					}
				}
				t.Logf("PERF cancel %d live children (%s): %v", n, mode, m)
			})
		}
	}
}

// TestPerfNaturalExit: spawn → EXIT of /bin/true, one at a time, with 0 and 1000
// idle processes elsewhere on the machine.
func TestPerfNaturalExit(t *testing.T) {
	for _, mode := range perfModes(t) {
		for _, crowd := range []int{0, 1000} {
			t.Run(fmt.Sprintf("%s/%d", mode, crowd), func(t *testing.T) {
				h := newHarness(t)
				withContainment(t, mode)
				if crowd > 0 {
					startCrowd(t, crowd)
				}
				const runs = 60
				var lat []time.Duration
				m := startMeter()
				for i := 0; i < runs; i++ {
					t0 := time.Now()
					c := h.start(&Options{Argv: []string{"/bin/true"}})
					h.waitExit(c)
					lat = append(lat, time.Since(t0))
				}
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				t.Logf("PERF natural exit (%s, %d others): p50 %v p90 %v; %d runs: %v", mode, crowd,
					lat[runs/2].Round(10*time.Microsecond), lat[runs*9/10].Round(10*time.Microsecond), runs, m)
			})
		}
	}
}

// TestPerfTreeCancel: a TERM-respecting 101-process tree (sh and 100 sleeps) → the
// outcome, whole tree gone.
func TestPerfTreeCancel(t *testing.T) {
	inEachMode(t, perfModes(t), func(t *testing.T, h *harness, mode string) {
		const rounds = 5
		var lat []time.Duration
		var hostCPU, helperCPU time.Duration
		for r := 0; r < rounds; r++ {
			c := h.start(&Options{Argv: shArgv(t, `i=0; while [ $i -lt 100 ]; do sleep 100 & i=$((i+1)); done; echo ready; wait`),
				Stdout: StdioPipe, GraceMs: i64(3000)})
			h.waitStdout(c, "ready")
			m := startMeter()
			c.Cancel(ReasonStop, 0, -1)
			o := h.waitExit(c)
			lat = append(lat, time.Since(m.t0))
			hostCPU += selfCPU() - m.self
			if m.helperPid != 0 {
				helperCPU += cpuOf(m.helperPid) - m.helper
			}
			if len(o.Errors) > 0 || o.Phases.KillMs != 0 {
				t.Errorf("outcome: %s", h.kidCopy(c).raw)
			}
			n := 0
			procfs.Scan(func(st procfs.Stat) {
				if st.Sid == c.Pid() && !st.Dead() {
					n++
				}
			})
			if n > 0 {
				t.Errorf("%d members left", n)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("PERF tree of 101 cancelled (%s): median %v, %d rounds; CPU per cancel: host %v, helper %v (load %s)", mode,
			lat[rounds/2].Round(100*time.Microsecond), rounds, (hostCPU / rounds).Round(100*time.Microsecond), (helperCPU / rounds).Round(time.Millisecond), loadavg())
	})
}

// TestPerfLiveMemory: what 1000 live children (sleep, stdout and stderr piped) cost
// the Go side each, per containment mode: goroutines, heap and stacks in use
// (after a GC), and the process's resident memory (the helper's is its own).
func TestPerfLiveMemory(t *testing.T) {
	inEachMode(t, perfModes(t), func(t *testing.T, h *harness, mode string) {
		const n = 1000
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		r0, g0 := vmRSS(), runtime.NumGoroutine()
		kids := make([]*Child, 0, n)
		for i := 0; i < n; i++ {
			kids = append(kids, h.start(&Options{Argv: []string{"sleep", "300"}, Stdout: StdioPipe, Stderr: StdioPipe}))
		}
		time.Sleep(500 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		r1 := vmRSS()
		t.Logf("PERF %d live children (%s), per child: %.2f goroutines, heap in use %.0f B, stacks %.0f B, Go sys %.0f B, RSS %.0f B (load %s)",
			n, mode, float64(runtime.NumGoroutine()-g0)/n,
			float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/n, float64(int64(m1.StackInuse)-int64(m0.StackInuse))/n,
			float64(int64(m1.Sys)-int64(m0.Sys))/n, float64(r1-r0)/n, loadavg())
		d := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / n }
		t.Logf("PERF   of Go's sys, per child: heap %.0f B (idle %.0f), spans %.0f B, GC %.0f B, other %.0f B",
			d(m0.HeapSys, m1.HeapSys), d(m0.HeapIdle, m1.HeapIdle), d(m0.MSpanSys, m1.MSpanSys), d(m0.GCSys, m1.GCSys), d(m0.OtherSys, m1.OtherSys))
		for _, c := range kids {
			c.Cancel(ReasonStop, sigKILL, 0)
		}
		for _, c := range kids {
			h.waitExit(c)
		}
	})
}

// vmRSS is this process's resident memory in bytes.
func vmRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
