//go:build !linux

package core

import "os"

// pipeDefault is the read size from which growPipe is tried.
const pipeDefault = 64 << 10

// growPipe is Linux's F_SETPIPE_SZ; elsewhere pipes keep their size.
func growPipe(f *os.File) {}
