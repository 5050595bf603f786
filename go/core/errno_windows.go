package core

import "syscall"

// Windows error numbers mapped to the codes Node uses for them (libuv's table).
var windowsErrnoNames = map[syscall.Errno]string{
	syscall.ERROR_FILE_NOT_FOUND: "ENOENT",
	syscall.ERROR_PATH_NOT_FOUND: "ENOENT",
	syscall.ERROR_ACCESS_DENIED:  "EACCES",
	syscall.Errno(267):           "ENOTDIR", // ERROR_DIRECTORY
	syscall.Errno(87):            "EINVAL",  // ERROR_INVALID_PARAMETER
	syscall.Errno(206):           "E2BIG",   // ERROR_FILENAME_EXCED_RANGE
	syscall.Errno(123):           "ENOENT",  // ERROR_INVALID_NAME
	syscall.Errno(193):           "EFTYPE",  // ERROR_BAD_EXE_FORMAT: not a program
	syscall.Errno(8):             "ENOMEM",  // ERROR_NOT_ENOUGH_MEMORY
	syscall.Errno(1455):          "ENOMEM",  // ERROR_COMMITMENT_LIMIT
	syscall.Errno(109):           "EPIPE",   // ERROR_BROKEN_PIPE
	syscall.Errno(232):           "EPIPE",   // ERROR_NO_DATA: the reader closed the pipe
}

func errnoName(e syscall.Errno) string { return windowsErrnoNames[e] }

// Windows has no signals; the POSIX numbers the facade sends are named for the outcome.
func signalName(sig int) string {
	switch sig {
	case 2:
		return "SIGINT"
	case 9:
		return "SIGKILL"
	case 15:
		return "SIGTERM"
	}
	return ""
}
