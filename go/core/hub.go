package core

import (
	"encoding/binary"
	"sync"
	"time"
)

// hubQueueLen bounds the events queued per hub: a slow consumer blocks the pipe
// readers, which stops reading pipes, which blocks the children (backpressure).
// With reads of up to chunkSize that is at most 4 MiB of output per hub.
const hubQueueLen = 16

// Event is one record delivered to the host.
type Event struct {
	Type    uint32
	Handle  int64
	Aux     int64
	Payload []byte
	// chunk, when set, is the pooled buffer Payload lives in: Next gives it back to
	// chunkPool once the payload is copied out (one copy per byte on the Go side).
	chunk *[]byte
}

// chunkPool holds the outStreams' read buffers (chunkSize bytes each): a reader
// reads straight into one and hands it over with the event, so a chunk is never
// copied before Next, and steady streaming allocates nothing.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// recycle gives the event's pooled buffer back; the payload must not be used after.
func (ev *Event) recycle() {
	if ev.chunk != nil {
		chunkPool.Put(ev.chunk)
		ev.chunk = nil
		ev.Payload = nil
	}
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

// NewHub returns an open hub. The first one opens the quiet pipes' set and the
// shared null device (Linux), so that their fds are the library's from then on, not
// fds the first spawn leaves.
func NewHub() *Hub {
	prepareQuietSet()
	prepareSharedNull()
	return &Hub{events: make(chan Event, hubQueueLen), closed: make(chan struct{}), children: map[int64]*Child{}}
}

// push queues ev, blocking while the queue is full. It returns false if the hub
// was closed, in which case the event is dropped (nobody is left to read it).
func (h *Hub) push(ev Event) bool {
	select {
	case h.events <- ev:
		return true
	case <-h.closed:
		ev.recycle()
		return false
	}
}

// Next writes a batch of events into buf (see pws_hub_next): it waits up to timeout
// (0: not at all) for the first, then adds whatever is already queued while it fits.
// Consecutive output chunks of one stream of one child are merged into records of
// up to maxRecord bytes (the stream's bytes stay in order; the host then makes one
// buffer of them instead of one per pipe read); a record is never cut at the end of
// a batch, except that a chunk larger than a whole batch continues in the next.
// It returns the bytes written, 0 on timeout, or -1 when the hub is closed and empty.
func (h *Hub) Next(buf []byte, timeout time.Duration) int {
	h.nextMu.Lock()
	defer h.nextMu.Unlock()
	b := batch{buf: buf, last: -1}
	var ev Event
	if h.pending != nil {
		ev = *h.pending
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
		case ev = <-h.events:
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
			case ev = <-h.events:
			case <-h.closed:
				// Deliver what was queued before the close, then report closed.
				select {
				case ev = <-h.events:
				default:
					return -1
				}
			case <-timer:
				return 0
			}
		}
	}
	for {
		if !b.put(&ev) {
			h.pending = &ev
			return b.n
		}
		select {
		case ev = <-h.events:
		default:
			return b.n
		}
	}
}

// maxRecord caps one output record: the host copies each into a Buffer of its own,
// and below 128 KiB malloc serves those from its heap instead of a fresh mmap whose
// pages fault on every copy (measured: the largest cost of streaming).
const maxRecord = 120 << 10

// batch is a Next batch being written.
type batch struct {
	buf  []byte
	n    int
	last int // offset of the last record when it is an output chunk that may grow; -1 if none
}

func isOutput(ev *Event) bool { return ev.Type == EvStdout || ev.Type == EvStderr }

// lastLen is the payload length of the batch's last record.
func (b *batch) lastLen() int { return int(binary.LittleEndian.Uint32(b.buf[b.last+RecordLenAt:])) }

// extends reports whether ev may continue the batch's last record: the same stream
// of the same child, and room under maxRecord.
func (b *batch) extends(ev *Event) bool {
	if b.last < 0 || !isOutput(ev) || b.lastLen() >= maxRecord {
		return false
	}
	r := b.buf[b.last:]
	return binary.LittleEndian.Uint32(r[RecordTypeAt:]) == ev.Type && int64(binary.LittleEndian.Uint64(r[RecordHandleAt:])) == ev.Handle &&
		int64(binary.LittleEndian.Uint64(r[RecordAuxAt:])) == ev.Aux
}

// put writes ev into the batch. It reports false when ev, or the rest of an output
// chunk larger than a batch (ev.Payload is then what is left), did not fit and must
// open the next batch.
func (b *batch) put(ev *Event) bool {
	if !isOutput(ev) || len(ev.Payload) == 0 {
		free := len(b.buf) - b.n - EventHeaderSize
		if len(ev.Payload) > free && b.n > 0 {
			return false
		}
		// The JSON payloads are far below pws_hub_next's minimum cap; one that is
		// not would be cut here, never written past the buffer.
		part := *ev
		part.Payload = ev.Payload[:min(len(ev.Payload), free)]
		b.n += encode(b.buf[b.n:], part)
		b.last = -1
		ev.recycle()
		return true
	}
	if b.n > 0 && b.need(ev) > len(b.buf)-b.n {
		return false // whole in the next batch: only a chunk larger than a batch is cut
	}
	for len(ev.Payload) > 0 {
		free := len(b.buf) - b.n
		merge := b.extends(ev)
		room := min(free-EventHeaderSize, maxRecord)
		if merge {
			room = min(free, maxRecord-b.lastLen())
		}
		if room <= 0 {
			return false // the rest of a chunk larger than a batch opens the next
		}
		take := min(len(ev.Payload), room)
		if merge {
			r := b.buf[b.last:]
			binary.LittleEndian.PutUint32(r[RecordLenAt:], uint32(b.lastLen()+take))
			b.n += copy(b.buf[b.n:], ev.Payload[:take])
		} else {
			part := *ev
			part.Payload = ev.Payload[:take]
			b.last = b.n
			b.n += encode(b.buf[b.n:], part)
		}
		ev.Payload = ev.Payload[take:]
	}
	ev.recycle()
	return true
}

// need is the batch space the output chunk ev takes: its bytes, the part that
// continues the last record, and a header per maxRecord of the rest.
func (b *batch) need(ev *Event) int {
	rest := len(ev.Payload)
	if b.extends(ev) {
		rest -= min(rest, maxRecord-b.lastLen())
	}
	return len(ev.Payload) + (rest+maxRecord-1)/maxRecord*EventHeaderSize
}

func encode(buf []byte, ev Event) int {
	binary.LittleEndian.PutUint32(buf[RecordTypeAt:], ev.Type)
	binary.LittleEndian.PutUint32(buf[RecordLenAt:], uint32(len(ev.Payload)))
	binary.LittleEndian.PutUint64(buf[RecordHandleAt:], uint64(ev.Handle))
	binary.LittleEndian.PutUint64(buf[RecordAuxAt:], uint64(ev.Aux))
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
		c.killTree()
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
