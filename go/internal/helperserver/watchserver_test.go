package helperserver

// The macOS helper's exchange with its host, end to end but for the OS: requests
// on a pipe as the library writes them, the host's end closing, the kill over a
// table made by hand (registry_test.go's).

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
)

func TestWatchServerExchange(t *testing.T) {
	w := newWorld()
	var mu sync.Mutex // the table is read by serve's letgo and by the kill
	r, hostEnd := io.Pipe()
	var hello bytes.Buffer
	s := &watchServer{self: self, host: host, uid: uid, in: r, out: &hello, reg: newRegistry(),
		readTable: func() ([]procRow, bool) {
			mu.Lock()
			defer mu.Unlock()
			var tb []procRow
			for _, p := range w.rows {
				tb = append(tb, p)
			}
			return tb, true
		},
		sleep: func(d time.Duration) { w.now = w.now.Add(d) },
		now:   func() time.Time { return w.now },
	}
	ops := w.ops(s.reg)
	s.signal = func(p procRow, step ladderStep) {
		mu.Lock()
		defer mu.Unlock()
		ops.signal(p, step)
	}
	s.send(wire.Msg{Op: "hello", Pid: self})
	if m, err := wire.NewLineReader(&hello).Next(); err != nil || m.Op != "hello" || m.Pid != self {
		t.Fatalf("hello: %+v %v", m, err)
	}

	gone := make(chan string, 1)
	go s.serve(gone)
	// A second tree (2000) whose leader the host reaped and whose one leftover it
	// let go; malformed lines in between are skipped.
	mu.Lock()
	w.rows[2001] = row(2001, 1, 2000, 2000, t0+11)
	mu.Unlock()
	for _, m := range []wire.Msg{
		{Op: "watch", ID: 1, Pid: 1000, Start: t0},
		{Op: "watch", ID: 2, Pid: 2000, Start: t0 + 10},
		{Op: "letgo", ID: 2, Pids: []int{2001}},
		{Op: "reap", ID: 2},
	} {
		if err := wire.WriteLine(hostEnd, m); err != nil {
			t.Fatal(err)
		}
		if m.Op == "watch" && m.ID == 1 {
			hostEnd.Write([]byte("{\"op\":\"watch\",\"id\":9}\nnot json\n"))
		}
	}
	hostEnd.Close() // the host died
	select {
	case why := <-gone:
		if why != "the host's socket closed" {
			t.Errorf("gone: %q", why)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not see the host's end within 10s")
	}
	if s.reg.trees[9] != nil {
		t.Errorf("a malformed watch was registered")
	}
	if t2 := s.reg.trees[2]; t2 == nil || !t2.reaped {
		t.Errorf("tree 2 after its reap: %+v", t2)
	}
	// Tree 2 is reaped and holds nothing but what was let go: forgotten; tree 1 is
	// not reaped: kept.
	s.prune()
	if s.reg.trees[2] != nil || s.reg.trees[1] == nil {
		t.Errorf("after prune: trees %v", s.reg.trees)
	}

	if left := s.killAll(500*time.Millisecond, 5*time.Second); len(left) != 0 {
		t.Fatalf("survivors %v", pids(left))
	}
	var living []int
	for pid := range w.rows {
		living = append(living, pid)
	}
	slices.Sort(living)
	// Tree 1 is gone; the let-go leftover of tree 2, the host, the helper, init and
	// what was never ours remain.
	if want := []int{1, host, self, 900, 1007, 1008, 1009, 2001}; !slices.Equal(living, want) {
		t.Errorf("left alive %v, want %v", living, want)
	}
}
