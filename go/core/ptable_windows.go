package core

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// descendantsTable: for a leader of ours, its job (which keeps grandchildren whose
// parent is gone); for any other pid, the parent links of a process snapshot,
// where a "child" created before its parent is a re-used id and not followed.
func descendantsTable(pid int) procTable {
	leaders.Lock()
	p := leaders.m[pid]
	leaders.Unlock()
	if p != nil {
		return procTable{kids: map[int][]int{pid: without(p.members(), pid)}}
	}
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return procTable{}
	}
	defer windows.CloseHandle(snap)
	kids := map[int][]int{}
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if e.ProcessID != 0 && e.ProcessID != e.ParentProcessID {
			kids[int(e.ParentProcessID)] = append(kids[int(e.ParentProcessID)], int(e.ProcessID))
		}
	}
	type birth struct {
		at int64
		ok bool
	}
	births := map[int]birth{}
	born := func(pid int) birth {
		b, seen := births[pid]
		if !seen {
			b.at, b.ok = createdAt(pid)
			births[pid] = b
		}
		return b
	}
	return procTable{kids: kids, follow: func(parent, kid int) bool {
		p, k := born(parent), born(kid)
		return !(p.ok && k.ok && k.at < p.at)
	}}
}

// stillActive is the exit code GetExitCodeProcess gives a running process.
const stillActive = 259

// processState: a process that has not exited is alive (one we may not open is
// someone else's, and alive); Windows has no zombies (an exited process whose
// handles are still open is gone, as for libuv's kill(pid, 0)).
func processState(pid int) ProcState {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err == windows.ERROR_ACCESS_DENIED {
		return ProcAlive
	}
	if err != nil {
		return ProcGone
	}
	defer windows.CloseHandle(h)
	var code uint32
	if windows.GetExitCodeProcess(h, &code) == nil && code == stillActive {
		return ProcAlive
	}
	return ProcGone
}

// signalTree: Windows has no signals for a process that is not ours to attach a
// console to; as libuv's kill, any signal but 0 terminates the process (pid first,
// then its descendants), and 0 only checks that it runs.
func signalTree(pid, sig int) []int {
	return signalTable(pid, descendantsTable(pid), nil, nil, func(m int) bool { return terminate(m, sig) })
}

func terminate(pid, sig int) bool {
	access := uint32(windows.PROCESS_QUERY_LIMITED_INFORMATION)
	if sig != 0 {
		access |= windows.PROCESS_TERMINATE
	}
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var code uint32
	if windows.GetExitCodeProcess(h, &code) != nil || code != stillActive {
		return false
	}
	return sig == 0 || windows.TerminateProcess(h, killExitCode) == nil
}
