package core

import "time"

// The numbers the core shares with the C ABI. go/capi/pws.h is their source: the
// core is pure Go and cannot read it, so it keeps these copies, and go/capi/abi.go
// fails `go build` of the library when one of them differs from the header.

// Event types (PWS_EV_*).
const (
	EvStdout    = 1
	EvStderr    = 2
	EvStdinAck  = 3
	EvExit      = 4
	EvStdoutEnd = 5
	EvStderrEnd = 6
	EvClose     = 7
)

// The end of a stream is its output event's number plus one fixed step (the
// readers and the tests rely on it); these fail to compile when it is not so.
const (
	_ = uint((EvStderrEnd - EvStderr) - (EvStdoutEnd - EvStdout))
	_ = uint((EvStdoutEnd - EvStdout) - (EvStderrEnd - EvStderr))
)

// The record header of a Next batch (pws_record_header): the offset of each field,
// little-endian, and the header's size.
const (
	RecordTypeAt    = 0  // uint32 event type
	RecordLenAt     = 4  // uint32 payload length
	RecordHandleAt  = 8  // int64 child handle
	RecordAuxAt     = 16 // int64 aux
	EventHeaderSize = 24
)

// MinBatch is the smallest buffer Next is given (PWS_BATCH_MIN): a 64 KiB chunk of
// output and its header.
const MinBatch = 64<<10 + EventHeaderSize

// MaxSignal is the largest signal number accepted anywhere (PWS_SIG_MAX).
const MaxSignal = 64

// MaxMs is the largest time in milliseconds accepted anywhere (PWS_MS_MAX).
const MaxMs = 1 << 40

// HelloWait bounds how long a spawn or Containment waits for a just-started
// helper's hello (PWS_HELLO_WAIT_MS); Linux only has a helper.
const HelloWait = 1000 * time.Millisecond
