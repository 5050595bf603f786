package core

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// A Job Object per child holds the child's whole tree: the leader is assigned to it
// while suspended, before its first instruction, and every process it creates is
// born inside (the job allows no breakaway, so CREATE_BREAKAWAY_FROM_JOB fails).
// Kill-on-close makes the kernel kill the tree when the last handle to the job goes,
// which is when the host process ends, however it ends: the handle is never
// inheritable, so no child holds one.
//
// Jobs nest (Windows 8 and later): when the host already runs inside a job, as under
// libuv's own job or a CI runner's, the child's job becomes a child of that one.

// jobBasicAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION.
type jobBasicAccounting struct {
	TotalUserTime             int64
	TotalKernelTime           int64
	ThisPeriodTotalUserTime   int64
	ThisPeriodTotalKernelTime int64
	TotalPageFaultCount       uint32
	TotalProcesses            uint32
	ActiveProcesses           uint32
	TotalTerminatedProcesses  uint32
}

// newJob creates an unnamed, non-inheritable job that kills its processes when its
// last handle closes.
func newJob() (windows.Handle, error) {
	h, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	if err := setJobKillOnClose(h, true); err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	return h, nil
}

// setJobKillOnClose sets or clears JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE; no other limit
// is set, in particular neither BREAKAWAY_OK nor SILENT_BREAKAWAY_OK.
func setJobKillOnClose(h windows.Handle, on bool) error {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	if on {
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	}
	_, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	return err
}

// jobActive is the number of processes in the job that have not ended yet. Only
// this count decides that a tree is gone: the job's completion-port messages are
// not guaranteed to arrive.
func jobActive(h windows.Handle) (int, error) {
	var info jobBasicAccounting
	err := windows.QueryInformationJobObject(h, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
	if err != nil {
		return 0, err
	}
	return int(info.ActiveProcesses), nil
}

// jobPids lists the ids of the processes in the job (JOBOBJECT_BASIC_PROCESS_ID_LIST:
// two counts, then an array of ULONG_PTR), growing the buffer while it is too small.
func jobPids(h windows.Handle) ([]int, error) {
	n := 64
	for try := 0; ; try++ {
		words := make([]uintptr, 1+n) // two uint32 counts fill the first word
		err := windows.QueryInformationJobObject(h, windows.JobObjectBasicProcessIdList,
			uintptr(unsafe.Pointer(&words[0])), uint32(len(words))*uint32(unsafe.Sizeof(words[0])), nil)
		assigned := int(*(*uint32)(unsafe.Pointer(&words[0])))
		inList := int(*(*uint32)(unsafe.Add(unsafe.Pointer(&words[0]), 4)))
		if try < 8 && (err == windows.ERROR_MORE_DATA || (err == nil && assigned > inList && inList == n)) {
			n = assigned + 16
			continue
		}
		if err != nil {
			return nil, err
		}
		out := make([]int, 0, inList)
		for _, w := range words[1 : 1+inList] {
			out = append(out, int(w))
		}
		return out, nil
	}
}
