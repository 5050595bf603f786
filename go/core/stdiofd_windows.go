//go:build windows

package core

import "os"

// hostFd: a C runtime fd number means nothing to the core on Windows (libuv maps it to
// a HANDLE through the CRT of the host); refused as a usage error.
func (s *stdio) hostFd(n int, name string) (*os.File, error) {
	return nil, usage("%s: a file descriptor (fd:%d) is not supported on Windows", name, n)
}
