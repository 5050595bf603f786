// Command capi is the C ABI of pawwork-supervisor, built with
// `go build -buildmode=c-shared`. It holds only //export shims: every function is
// documented in go/capi/pws.h, which is the contract; the logic is in go/core.
// Only integers and byte buffers cross; no Go pointer is handed out (handles are
// integers into the tables below), and C buffers are copied before return.
package main

/*
#cgo CFLAGS: -I${SRCDIR}
#include "pws.h"

// cgo has no const: the //export signatures below say pws_in where pws.h says
// `const uint8_t *`, so that the declarations cgo writes for them (beside pws.h's,
// in _cgo_export.h) agree, and any other difference from pws.h fails the build.
typedef const uint8_t pws_in;
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/core"
)

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

// goBytes copies a C buffer; a zero length gives an empty slice. (Not C.GoBytes:
// its length is a C int, which a buffer beyond 2 GiB would overflow.)
func goBytes(p *C.pws_in, n C.int64_t) []byte {
	if n <= 0 || p == nil {
		return []byte{}
	}
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
}

func cBuf(p *C.uint8_t, n C.int64_t) []byte {
	if n <= 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export pws_abi_version
func pws_abi_version() C.int32_t { return C.PWS_ABI_VERSION }

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
	hb.Close(C.PWS_HUB_CLOSE_BOUND_MS * time.Millisecond)
	// The hub stays in the table so that a pump still calling next sees ECLOSED.
	return 0
}

//export pws_hub_next
func pws_hub_next(h C.int64_t, buf *C.uint8_t, capacity C.int64_t, timeoutMs C.int32_t) C.int64_t {
	hb := hub(h)
	if hb == nil {
		return C.PWS_EBADHANDLE
	}
	if capacity < C.PWS_BATCH_MIN || buf == nil {
		return C.PWS_EINVAL
	}
	n := hb.Next(cBuf(buf, capacity), time.Duration(timeoutMs)*time.Millisecond)
	if n < 0 {
		return C.PWS_ECLOSED
	}
	return C.int64_t(n)
}

//export pws_spawn
func pws_spawn(h C.int64_t, req *C.pws_in, n C.int64_t, errBuf *C.uint8_t, errCap C.int64_t, pidOut *C.int64_t) C.int64_t {
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
			return C.PWS_EINVAL
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
func pws_write(h C.int64_t, data *C.pws_in, n C.int64_t, seq C.int64_t) C.int32_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	if err := c.Write(goBytes(data, n), int64(seq)); err != nil {
		return C.PWS_EINVAL
	}
	return 0
}

//export pws_close_stdin
func pws_close_stdin(h C.int64_t) C.int32_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	c.CloseStdin()
	return 0
}

// streams maps pws_flow's stream to the core's.
var streams = map[C.int32_t]core.Stream{C.PWS_STREAM_STDOUT: core.StreamStdout, C.PWS_STREAM_STDERR: core.StreamStderr}

//export pws_flow
func pws_flow(h C.int64_t, stream C.int32_t, paused C.int32_t) C.int32_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	s, ok := streams[stream]
	if !ok {
		return C.PWS_EINVAL
	}
	if err := c.SetFlow(s, paused != 0); err != nil {
		return C.PWS_EINVAL
	}
	return 0
}

//export pws_signal
func pws_signal(h C.int64_t, sig C.int32_t, tree C.int32_t) C.int32_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	if sig < 0 || sig > C.PWS_SIG_MAX {
		return C.PWS_EINVAL
	}
	if err := c.Signal(int(sig), tree != 0); err != nil {
		return -C.int32_t(errnoOf(err))
	}
	return 0
}

// errnoOf is err's errno, EINVAL when it has none.
func errnoOf(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return int(syscall.EINVAL)
}

var reasons = map[C.int32_t]string{
	C.PWS_REASON_ABORT: core.ReasonAbort, C.PWS_REASON_TIMEOUT: core.ReasonTimeout,
	C.PWS_REASON_STOP: core.ReasonStop, C.PWS_REASON_HOST: core.ReasonHost,
}

//export pws_cancel
func pws_cancel(h C.int64_t, reason C.int32_t, sig C.int32_t, graceMs C.int64_t) C.int32_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	r, ok := reasons[reason]
	if !ok || sig < 0 || sig > C.PWS_SIG_MAX || graceMs < 0 || graceMs > C.PWS_MS_MAX {
		return C.PWS_EINVAL
	}
	c.Cancel(r, int(sig), time.Duration(graceMs)*time.Millisecond)
	return 0
}

//export pws_forget
func pws_forget(h C.int64_t) C.int32_t {
	mu.Lock()
	c := children[int64(h)]
	delete(children, int64(h))
	mu.Unlock()
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	c.Forget()
	return 0
}

//export pws_descendants
func pws_descendants(pid C.int64_t, buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	b := pidList(core.Descendants(int(pid)))
	if int64(len(b)) > int64(capacity) {
		return -C.int64_t(len(b))
	}
	return C.int64_t(copy(cBuf(buf, capacity), b))
}

// emptyPidList is the shortest list pws_signal_tree writes: its smallest buffer.
const emptyPidList = "[]"

// pidList is the JSON array pws_descendants and pws_signal_tree write.
func pidList(pids []int) []byte {
	if pids == nil {
		pids = []int{}
	}
	b, _ := json.Marshal(pids)
	return b
}

//export pws_process_state
func pws_process_state(pid C.int64_t) C.int32_t {
	if pid < 1 || pid > C.INT32_MAX {
		return C.PWS_EINVAL
	}
	st, err := core.ProcessState(int(pid))
	if err != nil {
		return C.PWS_EINVAL
	}
	return C.int32_t(st)
}

//export pws_signal_tree
func pws_signal_tree(pid C.int64_t, sig C.int32_t, buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	if pid <= 1 || pid > C.INT32_MAX || sig < 0 || sig > C.PWS_SIG_MAX || buf == nil || capacity < C.int64_t(len(emptyPidList)) {
		return C.PWS_EINVAL
	}
	pids, err := core.SignalTree(int(pid), int(sig))
	if err != nil {
		return C.PWS_EINVAL
	}
	b := pidList(pids)
	if int64(len(b)) > int64(capacity) {
		// What does not fit is left off the list (the signals went out all the same).
		if k := bytes.LastIndexByte(b[:capacity], ','); k > 0 {
			b = append(b[:k], ']')
		} else {
			b = []byte(emptyPidList)
		}
	}
	return C.int64_t(copy(cBuf(buf, capacity), b))
}

//export pws_configure
func pws_configure(buf *C.pws_in, n C.int64_t) C.int32_t {
	if n < 0 {
		return C.PWS_EINVAL
	}
	var cfg core.Config
	if err := json.Unmarshal(goBytes(buf, n), &cfg); err != nil {
		return C.PWS_EINVAL
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

//export pws_resize
func pws_resize(h C.int64_t, rows, cols C.int32_t) C.int32_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	if err := c.Resize(int(rows), int(cols)); err != nil {
		var e *core.Error
		if errors.As(err, &e) && e.Code == "EINVAL" {
			return C.PWS_EINVAL
		}
		return -C.int32_t(errnoOf(err))
	}
	return 0
}

// jsonOut writes v's JSON into buf: bytes written, or -(needed).
func jsonOut(v any, buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	b, _ := json.Marshal(v)
	if int64(len(b)) > int64(capacity) {
		return -C.int64_t(len(b))
	}
	return C.int64_t(copy(cBuf(buf, capacity), b))
}

//export pws_foreground
func pws_foreground(h C.int64_t, buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	if buf == nil || capacity < 0 {
		return C.PWS_EINVAL
	}
	f, err := c.Foreground()
	if err != nil {
		return C.PWS_EINVAL
	}
	return jsonOut(f, buf, capacity)
}

//export pws_signal_foreground
func pws_signal_foreground(h C.int64_t, sig C.int32_t, buf *C.uint8_t, capacity C.int64_t) C.int64_t {
	c := child(h)
	if c == nil {
		return C.PWS_EBADHANDLE
	}
	if buf == nil || capacity < 0 || sig < 1 || sig > C.PWS_SIG_MAX {
		return C.PWS_EINVAL
	}
	f, reached, err := c.SignalForeground(int(sig))
	if err != nil {
		return C.PWS_EINVAL
	}
	return jsonOut(struct {
		Pgid    int   `json:"processGroupId"`
		Reached []int `json:"reached"`
	}{f.Pgid, reached}, buf, capacity)
}

// The library's threads are made at load, while they can still be had: later
// work never needs a new one (go/core/threads.go). The host checks before it
// loads the library that it can afford them (binding/loader.cc).
func init() { core.ReserveThreads() }

func main() {}
