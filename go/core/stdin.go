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

// stdinPipe performs queued writes to the leader's stdin in order.
type stdinPipe struct {
	c    *Child
	f    *os.File
	done chan struct{}
	wake chan struct{}

	mu      sync.Mutex
	queue   []stdinReq
	closing bool // close after the queue is written
	aborted bool // the child is done: fail what is left
}

type stdinReq struct {
	data []byte
	seq  int64
}

func newStdinPipe(c *Child, f *os.File) *stdinPipe {
	return &stdinPipe{c: c, f: f, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (p *stdinPipe) write(data []byte, seq int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.aborted {
		return usage("stdin is closed")
	}
	p.queue = append(p.queue, stdinReq{data: data, seq: seq})
	p.poke()
	return nil
}

func (p *stdinPipe) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *stdinPipe) close() {
	p.mu.Lock()
	p.closing = true
	p.poke()
	p.mu.Unlock()
}

// abort closes the pipe at once; a write blocked on a leader that never reads
// returns, and what is still queued is failed.
func (p *stdinPipe) abort() {
	p.mu.Lock()
	p.aborted = true
	p.poke()
	p.mu.Unlock()
	p.f.Close()
}

func (p *stdinPipe) run() {
	defer close(p.done)
	defer p.f.Close()
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			if p.closing || p.aborted {
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			<-p.wake
			continue
		}
		req := p.queue[0]
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
