package helperserver

// The macOS helper's request handling and host-death kill, apart from the OS
// (server_darwin.go gives it the socket, the process table and kill(2)), so that
// the whole exchange is tested on Linux (watchserver_test.go).

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
)

type watchServer struct {
	self, host, uid int
	in              io.Reader // the host's requests, one per line
	out             io.Writer // to the host (the hello)

	readTable func() ([]procRow, bool)
	signal    func(p procRow, step ladderStep)
	sleep     func(time.Duration)
	now       func() time.Time

	sendMu sync.Mutex
	mu     sync.Mutex
	reg    *registry
}

func (s *watchServer) send(m wire.Msg) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	wire.WriteLine(s.out, m)
}

// serve carries out the host's requests until its end closes, then says why on
// gone. A malformed line is skipped.
func (s *watchServer) serve(gone chan<- string) {
	r := wire.NewLineReader(s.in)
	for {
		m, err := r.Next()
		if err != nil {
			if errors.Is(err, wire.ErrBadMsg) {
				continue
			}
			if err == io.EOF {
				gone <- "the host's socket closed"
			} else {
				gone <- "reading the host's socket: " + err.Error()
			}
			return
		}
		s.handle(m)
	}
}

func (s *watchServer) handle(m wire.Msg) {
	switch m.Op {
	case "watch":
		s.mu.Lock()
		s.reg.watch(m.ID, m.Pid, m.Start)
		s.mu.Unlock()
	case "reap":
		s.mu.Lock()
		s.reg.reap(m.ID)
		s.mu.Unlock()
	case "letgo":
		table, ok := s.readTable()
		if !ok {
			return
		}
		s.mu.Lock()
		s.reg.let(table, m.Pids)
		s.mu.Unlock()
	}
}

// prune: see registry.prune.
func (s *watchServer) prune() {
	if table, ok := s.readTable(); ok {
		s.mu.Lock()
		s.reg.prune(table, s.self, s.uid)
		s.mu.Unlock()
	}
}

// killAll runs the ladder over the registered trees; it returns what survived.
func (s *watchServer) killAll(grace, bound time.Duration) []procRow {
	return killLadder(ladderOps{
		victims: func(known map[int]int64) []procRow {
			table, ok := s.readTable()
			if !ok {
				return nil
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.reg.victims(table, s.self, s.host, s.uid, known)
		},
		signal: s.signal,
		sleep:  s.sleep,
		now:    s.now,
	}, grace, bound)
}
