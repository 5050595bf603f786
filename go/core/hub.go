package core

import (
	"encoding/binary"
	"sync"
	"time"
)

// Event types; the numbers are the C ABI's PWS_EV_* values.
const (
	EvStdout    = 1
	EvStderr    = 2
	EvStdinAck  = 3
	EvExit      = 4
	EvStdoutEnd = 5
	EvStderrEnd = 6
)

// EventHeaderSize is the size of one record header in a Next batch.
const EventHeaderSize = 24

// hubQueueLen bounds the events queued per hub: a slow consumer blocks the pipe
// readers, which stops reading pipes, which blocks the children (backpressure).
const hubQueueLen = 64

// Event is one record delivered to the host.
type Event struct {
	Type    uint32
	Handle  int64
	Aux     int64
	Payload []byte
}

// Hub is one ordered event queue shared by the children spawned on it; the host has
// one per JavaScript environment. Events of one child are queued in the order they
// happened; EXIT is always a child's last.
type Hub struct {
	events   chan Event
	closed   chan struct{}
	once     sync.Once
	nextMu   sync.Mutex // one Next at a time; guards pending
	pending  *Event     // taken from events but not yet fitted into a batch
	mu       sync.Mutex // guards children (never held while waiting)
	children map[int64]*Child
}

// NewHub returns an open hub.
func NewHub() *Hub {
	return &Hub{events: make(chan Event, hubQueueLen), closed: make(chan struct{}), children: map[int64]*Child{}}
}

// push queues ev, blocking while the queue is full. It returns false if the hub
// was closed, in which case the event is dropped (nobody is left to read it).
func (h *Hub) push(ev Event) bool {
	select {
	case h.events <- ev:
		return true
	case <-h.closed:
		return false
	}
}

// Next writes a batch of events into buf (see pws_hub_next): it waits up to timeout
// (0: not at all) for the first, then adds whatever is already queued while it fits.
// It returns the bytes written, 0 on timeout, or -1 when the hub is closed and empty.
func (h *Hub) Next(buf []byte, timeout time.Duration) int {
	h.nextMu.Lock()
	defer h.nextMu.Unlock()
	n := 0
	if h.pending != nil {
		n = encode(buf, *h.pending)
		h.pending = nil
	} else {
		// Timeout 0 is a poll (pws_hub_next: "0: do not block"); a nil timer
		// channel here would block forever instead.
		var timer <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case ev := <-h.events:
			n = encode(buf, ev)
		default:
			if timeout <= 0 {
				select {
				case <-h.closed:
					return -1
				default:
					return 0
				}
			}
			select {
			case ev := <-h.events:
				n = encode(buf, ev)
			case <-h.closed:
				// Deliver what was queued before the close, then report closed.
				select {
				case ev := <-h.events:
					n = encode(buf, ev)
				default:
					return -1
				}
			case <-timer:
				return 0
			}
		}
	}
	for {
		select {
		case ev := <-h.events:
			if n+EventHeaderSize+len(ev.Payload) > len(buf) {
				h.pending = &ev
				return n
			}
			n += encode(buf[n:], ev)
		default:
			return n
		}
	}
}

func encode(buf []byte, ev Event) int {
	binary.LittleEndian.PutUint32(buf[0:], ev.Type)
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(ev.Payload)))
	binary.LittleEndian.PutUint64(buf[8:], uint64(ev.Handle))
	binary.LittleEndian.PutUint64(buf[16:], uint64(ev.Aux))
	return EventHeaderSize + copy(buf[EventHeaderSize:], ev.Payload)
}

func (h *Hub) add(c *Child) {
	h.mu.Lock()
	h.children[c.id] = c
	h.mu.Unlock()
}

func (h *Hub) remove(c *Child) {
	h.mu.Lock()
	delete(h.children, c.id)
	h.mu.Unlock()
}

// Close cancels every child of the hub with reason "host" (SIGKILL to the whole
// tree, no grace) and wakes Next. It waits up to bound for those children to be
// reaped, reporting false if the bound fired (their cancellation goes on).
func (h *Hub) Close(bound time.Duration) bool {
	h.mu.Lock()
	kids := make([]*Child, 0, len(h.children))
	for _, c := range h.children {
		kids = append(kids, c)
	}
	h.mu.Unlock()
	for _, c := range kids {
		c.abandon()
	}
	deadline := time.After(bound)
	ok := true
	for _, c := range kids {
		select {
		case <-c.done:
		case <-deadline:
			ok = false
		}
		if !ok {
			break
		}
	}
	h.once.Do(func() { close(h.closed) })
	return ok
}
