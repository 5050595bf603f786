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
