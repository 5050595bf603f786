package wire

import (
	"golang.org/x/sys/unix"
)

// Send sends one message b on the socket fd with fds beside it, retrying on EINTR.
// The caller serialises sends on one socket.
func Send(fd int, b []byte, fds []int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err := unix.Sendmsg(fd, b, oob, nil, 0)
		if err != unix.EINTR {
			return err
		}
	}
}

// OOBSpace is the size of a receive buffer for the fds of a message carrying up
// to n.
func OOBSpace(n int) int { return unix.CmsgSpace(n * 4) }

// Recv receives one message into buf, retrying on EINTR, with the fds that came
// beside it (received close-on-exec; the caller owns them). At the end of the
// peer (n == 0) or on an error, no fds are returned. flags are recvmsg's: with
// unix.MSG_TRUNC the message was cut short, with unix.MSG_CTRUNC some fds were.
func Recv(fd int, buf, oob []byte) (n int, fds []int, flags int, err error) {
	for {
		var oobn int
		n, oobn, flags, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return n, nil, flags, err
		}
		return n, ParseRights(oob[:oobn]), flags, nil
	}
}

// ParseRights returns every fd that came with a message.
func ParseRights(oob []byte) []int {
	var fds []int
	if len(oob) == 0 {
		return nil
	}
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, cm := range cms {
		if got, err := unix.ParseUnixRights(&cm); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// CloseAll closes fds.
func CloseAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// RequestMemfd returns a sealed memfd holding b: how a spawn request too large for
// one message is handed over.
func RequestMemfd(b []byte) (int, error) {
	fd, err := unix.MemfdCreate("pawwork-supervisor-request", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, err
	}
	for off := 0; off < len(b); {
		n, err := unix.Write(fd, b[off:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		off += n
	}
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	return fd, nil
}

// ReadRequestFile reads exactly n bytes from the start of the regular file (memfd)
// fd, refusing one of another size: E2BIG for one too large to exec, EINVAL else.
func ReadRequestFile(fd int, n int64) ([]byte, unix.Errno) {
	if n > MaxRequest {
		return nil, unix.E2BIG
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != n {
		return nil, unix.EINVAL
	}
	b := make([]byte, n)
	for off := 0; off < len(b); {
		k, err := unix.Pread(fd, b[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			return nil, unix.EINVAL
		}
		off += k
	}
	return b, 0
}

// Queued reports whether a message (or the peer's close) is waiting on the socket
// fd now, without waiting for one.
func Queued(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
