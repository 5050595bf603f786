//go:build !linux

package core

import "os"

// pipeDefault is the read size from which growPipe is tried.
const pipeDefault = 64 << 10

// growPipe is Linux's F_SETPIPE_SZ; elsewhere pipes keep their size (false: not grown).
func growPipe(f *os.File) bool { return false }

// pipeMax is taken as a bound on what one of our pipes can hold here (macOS pipes
// hold at most 64 KiB; Windows pipes hold their buffer size, far below this), so
// that a sweep that reads this much has emptied a pipe whose writers are gone.
const pipeMax = 1 << 20
