package core

import (
	"errors"
	"sync"

	"golang.org/x/sys/windows"
)

// The graceful stop on Windows is CTRL_BREAK_EVENT, the one console event that can
// be aimed at a process group (CTRL_C_EVENT cannot): each child starts a group of its
// own (CREATE_NEW_PROCESS_GROUP, group id = the leader's pid), which its descendants
// join unless they ask for another. GenerateConsoleCtrlEvent only reaches processes
// attached to the caller's console, hence two cases, chosen when the child starts:
//
//   - The host has a console (node in a terminal, a CI runner): the child shares it,
//     and the host sends the event directly.
//   - The host has none (Electron's main process, a service): the child is created
//     with CREATE_NO_WINDOW, which gives it a console of its own that is never shown.
//     To send the event the host attaches to that console for the duration of the
//     call (AttachConsole(member), GenerateConsoleCtrlEvent, FreeConsole), serialised
//     by consoleMu, restoring its standard handles afterwards. The host is not in the
//     child's group, so the event does not reach the host itself. When the leader is
//     gone, any live member of the job that shares the console serves to attach.
//
// What is proven where is in README.md (section Windows): under Wine the first case
// is exercised by the tests, and the second only as far as Wine implements
// AttachConsole; neither replaces a run on real Windows.

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procAttachConsole = kernel32.NewProc("AttachConsole")
	procFreeConsole   = kernel32.NewProc("FreeConsole")
	procPeekNamedPipe = kernel32.NewProc("PeekNamedPipe")
)

// consoleMu serialises everything that changes or depends on this process's console.
var consoleMu sync.Mutex

// hostHasConsole reports whether this process is attached to a console: only then
// does "CONOUT$" open. (GetConsoleProcessList would say the same on Windows, but
// Wine answers 0 for a console it does have.)
func hostHasConsole() bool {
	name, _ := windows.UTF16PtrFromString("CONOUT$")
	h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return false
	}
	windows.CloseHandle(h)
	return true
}

// sendCtrlBreak sends CTRL_BREAK_EVENT to the process group group. shared says the
// child was started on the host's console; otherwise one of attach (live members on
// the child's own console) is attached to for the call.
func sendCtrlBreak(group int, shared bool, attach []int) error {
	consoleMu.Lock()
	defer consoleMu.Unlock()
	if shared {
		return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(group))
	}
	if hostHasConsole() {
		// The host gained a console after the child started; a process has at most
		// one, so the child's cannot be reached. The ladder's kill still follows.
		return errors.New("the host now has a console of its own; cannot attach to the child's")
	}
	std := [3]uint32{windows.STD_INPUT_HANDLE, windows.STD_OUTPUT_HANDLE, windows.STD_ERROR_HANDLE}
	var saved [3]windows.Handle
	for i, s := range std {
		saved[i], _ = windows.GetStdHandle(s)
	}
	defer func() {
		for i, s := range std {
			windows.SetStdHandle(s, saved[i])
		}
	}()
	var lastErr error = errors.New("no live member to attach to")
	for _, pid := range attach {
		r, _, err := procAttachConsole.Call(uintptr(uint32(pid)))
		if r == 0 {
			lastErr = err
			continue
		}
		err = windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(group))
		procFreeConsole.Call()
		return err
	}
	return lastErr
}
