package core

import "syscall"

func setSize(fd uintptr, rows, cols int) error { return syscall.ENOTSUP }
func foregroundGroup(fd uintptr) (int, error)  { return 0, syscall.ENOTSUP }
