// Command capi is the C ABI of pawwork-supervisor, built with
// `go build -buildmode=c-shared`. It holds only //export shims: every function is
// documented in binding/pws.h, which is the contract; the logic is in go/core.
// Only integers and byte buffers cross; no Go pointer is handed out (handles are
// integers into the tables below), and C buffers are copied before return.
package main

/*
#include <stdint.h>
*/
import "C"

import (
	"encoding/json"
	"errors"
	"sync"
	"time"
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/core"
)

// Keep in step with PWS_ABI_VERSION in binding/pws.h.
const abiVersion = 1

const (
	eBadHandle = -1
	eClosed    = -2
	eInval     = -3
)

const minBatch = 64<<10 + core.EventHeaderSize

var (
	mu       sync.Mutex
	hubs     = map[int64]*core.Hub{}
	children = map[int64]*core.Child{}
	lastHub  int64
)

func hub(h C.int64_t) *core.Hub {
	mu.Lock()
	defer mu.Unlock()
	return hubs[int64(h)]
}

func child(h C.int64_t) *core.Child {
	mu.Lock()
	defer mu.Unlock()
	return children[int64(h)]
}

// goBytes copies a C buffer; a zero length gives an empty slice.
func goBytes(p *C.uint8_t, n C.int64_t) []byte {
	if n <= 0 || p == nil {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

func cBuf(p *C.uint8_t, n C.int64_t) []byte {
	if n <= 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export pws_abi_version
func pws_abi_version() C.int32_t { return abiVersion }

//export pws_hub_open
func pws_hub_open() C.int64_t {
	mu.Lock()
	defer mu.Unlock()
	lastHub++
	hubs[lastHub] = core.NewHub()
	return C.int64_t(lastHub)
}

//export pws_hub_close
func pws_hub_close(h C.int64_t) C.int32_t {
	mu.Lock()
	hb := hubs[int64(h)]
	mu.Unlock()
	if hb == nil {
		return 0
	}
	hb.Close(time.Second)
	// The hub stays in the table so that a pump still calling next sees ECLOSED.
	return 0
}

//export pws_hub_next
func pws_hub_next(h C.int64_t, buf *C.uint8_t, capacity C.int64_t, timeoutMs C.int32_t) C.int64_t {
	hb := hub(h)
	if hb == nil {
		return eBadHandle
	}
	if capacity < minBatch || buf == nil {
		return eInval
	}
	n := hb.Next(cBuf(buf, capacity), time.Duration(timeoutMs)*time.Millisecond)
	if n < 0 {
		return eClosed
	}
	return C.int64_t(n)
}

//export pws_spawn
func pws_spawn(h C.int64_t, req *C.uint8_t, n C.int64_t, errBuf *C.uint8_t, errCap C.int64_t, pidOut *C.int64_t) C.int64_t {
	fail := func(err error) C.int64_t {
		var e *core.Error
		if !errors.As(err, &e) {
			e = &core.Error{Code: "EINVAL", Syscall: "spawn", Msg: err.Error()}
		}
		m := map[string]any{"code": e.Code, "message": e.Error(), "syscall": e.Syscall}
		if e.Path != "" {
			m["path"] = e.Path
		}
		if e.Errno != 0 {
			m["errno"] = int(e.Errno)
		}
		b, _ := json.Marshal(m)
		w := copy(cBuf(errBuf, errCap), b)
		if w == 0 {
			return eInval
		}
		return -C.int64_t(w)
	}
	hb := hub(h)
	if hb == nil {
		return fail(errors.New("pawwork-supervisor: unknown hub"))
	}
	opts, err := core.ParseOptions(goBytes(req, n))
	if err != nil {
		return fail(err)
	}
	c, err := core.Start(hb, opts)
	if err != nil {
		return fail(err)
	}
	mu.Lock()
	children[c.ID()] = c
	mu.Unlock()
	if pidOut != nil {
		*pidOut = C.int64_t(c.Pid())
	}
	return C.int64_t(c.ID())
}

//export pws_write
func pws_write(h C.int64_t, data *C.uint8_t, n C.int64_t, seq C.int64_t) C.int32_t {
	c := child(h)
	if c == nil {
		return eBadHandle
	}
	if err := c.Write(goBytes(data, n), int64(seq)); err != nil {
		return eInval
	}
	return 0
}

//export pws_close_stdin
func pws_close_stdin(h C.int64_t) C.int32_t {
	c := child(h)
	if c == nil {
		return eBadHandle
	}
	c.CloseStdin()
	return 0
}

//export pws_flow
func pws_flow(h C.int64_t, stream C.int32_t, paused C.int32_t) C.int32_t {
	c := child(h)
	if c == nil {
		return eBadHandle
	}
	if err := c.SetFlow(uint32(stream), paused != 0); err != nil {
		return eInval
	}
	return 0
}

//export pws_signal
func pws_signal(h C.int64_t, sig C.int32_t, tree C.int32_t) C.int32_t {
	c := child(h)
	if c == nil {
		return eBadHandle
	}
	if sig < 0 || sig > 64 {
		return eInval
	}
	if err := c.Signal(int(sig), tree != 0); err != nil {
		return -C.int32_t(errnoOf(err))
	}
	return 0
}

var reasons = map[C.int32_t]string{
	1: core.ReasonAbort, 2: core.ReasonTimeout, 3: core.ReasonStop, 4: core.ReasonHost,
}

//export pws_cancel
func pws_cancel(h C.int64_t, reason C.int32_t, sig C.int32_t, graceMs C.int64_t) C.int32_t {
	c := child(h)
	if c == nil {
		return eBadHandle
	}
	r, ok := reasons[reason]
	if !ok || sig < 0 || sig > 64 || graceMs < 0 {
		return eInval
	}
	c.Cancel(r, int(sig), time.Duration(graceMs)*time.Millisecond)
	return 0
}

//export pws_release
func pws_release(h C.int64_t) C.int32_t {
	mu.Lock()
	c := children[int64(h)]
	delete(children, int64(h))
	mu.Unlock()
	if c == nil {
		return eBadHandle
	}
	c.Release()
	return 0
}

//export pws_descendants
func pws_descendants(pid C.int64_t, buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	pids := core.Descendants(int(pid))
	if pids == nil {
		pids = []int{}
	}
	b, _ := json.Marshal(pids)
	if int64(len(b)) > int64(capacity) {
		return -C.int64_t(len(b))
	}
	return C.int64_t(copy(cBuf(buf, capacity), b))
}

//export pws_configure
func pws_configure(buf *C.uint8_t, n C.int64_t) C.int32_t {
	if n < 0 {
		return eInval
	}
	var cfg core.Config
	if err := json.Unmarshal(cBuf(buf, n), &cfg); err != nil {
		return eInval
	}
	core.Configure(cfg)
	return 0
}

//export pws_containment
func pws_containment(buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	b, _ := json.Marshal(core.Containment())
	if int64(len(b)) > int64(capacity) {
		return -C.int64_t(len(b))
	}
	return C.int64_t(copy(cBuf(buf, capacity), b))
}

// The library's threads are made at load, while they can still be had: later
// work never needs a new one (go/core/threads.go). The host checks before it
// loads the library that it can afford them (binding/loader.cc).
func init() { core.ReserveThreads() }

func main() {}
