package main

// go/capi/pws.h is the only source of the ABI's numbers. The core is pure Go and
// keeps copies of those it needs (go/core/abi.go, options.go); each pair below
// fails to compile unless the copy equals the header's number, because a negative
// constant does not convert to uint. So changing a number on one side only fails
// `go build` of the library, naming the constant.
//
// The functions' signatures are checked too: main.go includes pws.h, whose
// declarations meet cgo's own for the //export functions in _cgo_export.h.

/*
#include "pws.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/core"
)

// Terminal sizes.
const (
	_ = uint(C.PWS_TERM_SIZE_MAX - core.MaxTerminalSize)
	_ = uint(core.MaxTerminalSize - C.PWS_TERM_SIZE_MAX)
)

// Event types.
const (
	_ = uint(C.PWS_EV_STDOUT - core.EvStdout)
	_ = uint(core.EvStdout - C.PWS_EV_STDOUT)
	_ = uint(C.PWS_EV_STDERR - core.EvStderr)
	_ = uint(core.EvStderr - C.PWS_EV_STDERR)
	_ = uint(C.PWS_EV_STDIN_ACK - core.EvStdinAck)
	_ = uint(core.EvStdinAck - C.PWS_EV_STDIN_ACK)
	_ = uint(C.PWS_EV_EXIT - core.EvExit)
	_ = uint(core.EvExit - C.PWS_EV_EXIT)
	_ = uint(C.PWS_EV_STDOUT_END - core.EvStdoutEnd)
	_ = uint(core.EvStdoutEnd - C.PWS_EV_STDOUT_END)
	_ = uint(C.PWS_EV_STDERR_END - core.EvStderrEnd)
	_ = uint(core.EvStderrEnd - C.PWS_EV_STDERR_END)
	_ = uint(C.PWS_EV_CLOSE - core.EvClose)
	_ = uint(core.EvClose - C.PWS_EV_CLOSE)
)

// Streams and process states.
const (
	_ = uint(C.PWS_STREAM_STDOUT - core.StreamStdout)
	_ = uint(core.StreamStdout - C.PWS_STREAM_STDOUT)
	_ = uint(C.PWS_STREAM_STDERR - core.StreamStderr)
	_ = uint(core.StreamStderr - C.PWS_STREAM_STDERR)
	_ = uint(C.PWS_PROC_GONE - core.ProcGone)
	_ = uint(core.ProcGone - C.PWS_PROC_GONE)
	_ = uint(C.PWS_PROC_ALIVE - core.ProcAlive)
	_ = uint(core.ProcAlive - C.PWS_PROC_ALIVE)
	_ = uint(C.PWS_PROC_ZOMBIE - core.ProcZombie)
	_ = uint(core.ProcZombie - C.PWS_PROC_ZOMBIE)
)

// The record header: its size, each field's offset, and the smallest batch.
var hdr C.pws_record_header

const (
	_ = uint(C.PWS_RECORD_HEADER_SIZE - core.EventHeaderSize)
	_ = uint(core.EventHeaderSize - C.PWS_RECORD_HEADER_SIZE)
	_ = uint(unsafe.Sizeof(hdr) - core.EventHeaderSize)
	_ = uint(core.EventHeaderSize - unsafe.Sizeof(hdr))
	_ = uint(unsafe.Offsetof(hdr._type) - core.RecordTypeAt)
	_ = uint(core.RecordTypeAt - unsafe.Offsetof(hdr._type))
	_ = uint(unsafe.Offsetof(hdr.payload_len) - core.RecordLenAt)
	_ = uint(core.RecordLenAt - unsafe.Offsetof(hdr.payload_len))
	_ = uint(unsafe.Offsetof(hdr.handle) - core.RecordHandleAt)
	_ = uint(core.RecordHandleAt - unsafe.Offsetof(hdr.handle))
	_ = uint(unsafe.Offsetof(hdr.aux) - core.RecordAuxAt)
	_ = uint(core.RecordAuxAt - unsafe.Offsetof(hdr.aux))
	_ = uint(C.PWS_BATCH_MIN - core.MinBatch)
	_ = uint(core.MinBatch - C.PWS_BATCH_MIN)
)

// Limits, defaults and bounds of the core that the header documents.
const (
	_ = uint(C.PWS_SIG_MAX - core.MaxSignal)
	_ = uint(core.MaxSignal - C.PWS_SIG_MAX)
	_ = uint(C.PWS_MS_MAX - core.MaxMs)
	_ = uint(core.MaxMs - C.PWS_MS_MAX)
	_ = uint(C.PWS_DEFAULT_GRACE_MS - core.DefaultGrace/time.Millisecond)
	_ = uint(core.DefaultGrace/time.Millisecond - C.PWS_DEFAULT_GRACE_MS)
	_ = uint(C.PWS_DEFAULT_DRAIN_IDLE_MS - core.DefaultDrainIdle/time.Millisecond)
	_ = uint(core.DefaultDrainIdle/time.Millisecond - C.PWS_DEFAULT_DRAIN_IDLE_MS)
	_ = uint(C.PWS_DEFAULT_DRAIN_MAX_MS - core.DefaultDrainMax/time.Millisecond)
	_ = uint(core.DefaultDrainMax/time.Millisecond - C.PWS_DEFAULT_DRAIN_MAX_MS)
	_ = uint(C.PWS_HELLO_WAIT_MS - core.HelloWait/time.Millisecond)
	_ = uint(core.HelloWait/time.Millisecond - C.PWS_HELLO_WAIT_MS)
)
