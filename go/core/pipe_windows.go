package core

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// os.Pipe on Windows gives synchronous, inheritable anonymous pipes: a read cannot
// be given a deadline (so the drain bounds of a stream cannot fire while another
// process holds the write end), and any CreateProcess elsewhere in the host with
// bInheritHandles (libuv's spawn) inherits both ends. newPipe is the replacement
// for the core's output and input pipes: a named pipe whose parent end is
// overlapped (Go's poller, read deadlines work) and whose child end is synchronous,
// as console programs expect; neither end is inheritable (startProc duplicates the
// child's end into the child alone).
//
// Start calls it for every pipe: the parent reads when
// parentReads (stdout, stderr), writes otherwise (stdin).
func newPipe(parentReads bool) (r, w *os.File, err error) {
	name := fmt.Sprintf(`\\.\pipe\pawwork-supervisor-%d-%d`, os.Getpid(), pipeSeq.Add(1))
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, nil, err
	}
	access := uint32(windows.PIPE_ACCESS_OUTBOUND)
	childAccess := uint32(windows.GENERIC_READ)
	if parentReads {
		access = windows.PIPE_ACCESS_INBOUND
		childAccess = windows.GENERIC_WRITE
	}
	// One instance, remote clients refused; FILE_WRITE_ATTRIBUTES on the child's
	// end lets it set the pipe's mode if it wants.
	server, err := windows.CreateNamedPipe(name16,
		access|windows.FILE_FLAG_OVERLAPPED|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		1, chunkSize, chunkSize, 0, nil)
	if err != nil {
		return nil, nil, os.NewSyscallError("CreateNamedPipe", err)
	}
	client, err := windows.CreateFile(name16, childAccess|windows.FILE_WRITE_ATTRIBUTES, 0, nil,
		windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		windows.CloseHandle(server)
		return nil, nil, os.NewSyscallError("CreateFile", err)
	}
	sf, cf := os.NewFile(uintptr(server), "|parent"), os.NewFile(uintptr(client), "|child")
	if parentReads {
		return sf, cf, nil
	}
	return cf, sf, nil
}

var pipeSeq atomic.Int64

// readNow reads what is already in the pipe without waiting: PeekNamedPipe says how
// much is there (or that every writer is gone), and a read of at most that much
// returns at once.
func readNow(f *os.File, buf []byte) (n int, eof bool, err error) {
	var avail uint32
	r, _, e := procPeekNamedPipe.Call(f.Fd(), 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	if r == 0 {
		if e == windows.ERROR_BROKEN_PIPE {
			return 0, true, nil
		}
		return 0, false, e
	}
	if avail == 0 {
		return 0, false, nil
	}
	if int(avail) < len(buf) {
		buf = buf[:avail]
	}
	f.SetReadDeadline(time.Time{})
	n, err = f.Read(buf)
	return n, false, err
}

// readChunk reads into a pooled chunk (Windows: a read on a pipe handle waits in
// the read itself).
func readChunk(f *os.File) (*[]byte, int, error) {
	chunk := chunkPool.Get().(*[]byte)
	n, err := f.Read(*chunk)
	return chunk, n, err
}

func prepareSharedNull() {}

// nullForLeader: each spawn opens its own null device here (NUL, inheritable).
func nullForLeader() *os.File { return nil }
