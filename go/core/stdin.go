package core

import (
	"errors"
	"os"
	"sync"
)

// childStdin gives the leader's fd 0: the null device, the host's own stdin, or the
// read end of a pipe that a stdinPipe writes.
func (c *Child) childStdin(s *stdio) (*os.File, error) {
	if n, ok := stdioFd(c.opts.Stdin); ok {
		return s.hostFd(n, "stdin")
	}
	switch c.opts.Stdin {
	case StdioInherit:
		return os.Stdin, nil
	case StdioPipe, StdioSocket:
		open := s.pipe
		if c.opts.Stdin == StdioSocket {
			open = s.socket
		}
		r, w, err := open(false)
		if err != nil {
			return nil, err
		}
		c.stdin = newStdinPipe(c, w)
		return r, nil
	}
	return s.devNull(false)
}

// stdinPipe performs queued writes to the leader's stdin in order. Its writer
// goroutine runs only while there is work (a queued write, the close, the abort):
// most children that keep stdin open (language servers, tool servers) are fed in
// bursts, and a goroutine parked between bursts costs a stack per child.
type stdinPipe struct {
	c    *Child
	f    *os.File
	done chan struct{} // closed once the pipe was closed and the queue settled

	mu      sync.Mutex
	queue   []stdinReq
	running bool // a writer goroutine (run) owns the queue
	ended   bool // the pipe was closed for good (done is closed)
	closing bool // close after the queue is written
	aborted bool // the child is done: fail what is left
}

type stdinReq struct {
	data []byte
	seq  int64
}

func newStdinPipe(c *Child, f *os.File) *stdinPipe {
	return &stdinPipe{c: c, f: f, done: make(chan struct{})}
}

func (p *stdinPipe) write(data []byte, seq int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.aborted {
		return usage("stdin is closed")
	}
	p.queue = append(p.queue, stdinReq{data: data, seq: seq})
	p.pokeLocked()
	return nil
}

// pokeLocked starts the writer unless it is running (p.mu held): one at a time,
// so the writes keep their order.
func (p *stdinPipe) pokeLocked() {
	if !p.running && !p.ended {
		p.running = true
		go p.run()
	}
}

func (p *stdinPipe) close() {
	p.mu.Lock()
	p.closing = true
	p.pokeLocked()
	p.mu.Unlock()
}

// abort closes the pipe at once; a write blocked on a leader that never reads
// returns, and what is still queued is failed.
func (p *stdinPipe) abort() {
	p.mu.Lock()
	p.aborted = true
	p.pokeLocked()
	p.mu.Unlock()
	p.f.Close()
}

// run writes the queue out, then ends: with the pipe closed (after close or
// abort), or leaving it open for the next poke.
func (p *stdinPipe) run() {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			final := p.closing || p.aborted
			p.running = false
			p.ended = final
			p.queue = nil // an idle child keeps no spent array
			p.mu.Unlock()
			if final {
				p.f.Close()
				close(p.done)
			}
			return
		}
		req := p.queue[0]
		p.queue[0] = stdinReq{} // its bytes are not held once written
		p.queue = p.queue[1:]
		aborted := p.aborted
		p.mu.Unlock()
		var err error
		if aborted {
			err = os.ErrClosed
		} else {
			_, err = p.f.Write(req.data)
		}
		var payload []byte
		if err != nil {
			payload = mustJSON(writeError(err))
		}
		p.c.emit(Event{Type: EvStdinAck, Aux: req.seq, Payload: payload})
	}
}

func writeError(err error) map[string]string {
	if errors.Is(err, os.ErrClosed) {
		return map[string]string{"code": "EPIPE", "message": "pawwork-supervisor: write to stdin after the child ended"}
	}
	code, _ := errnoCode(err)
	return map[string]string{"code": code, "message": "pawwork-supervisor: write to stdin: " + err.Error()}
}
