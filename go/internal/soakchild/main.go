// Command soakchild is the child the soak test (scripts/soak) starts: small,
// quick to start, and able to prove what it wrote.
//
//	soakchild write <seed> <n> <code>  n pseudo-random bytes to stdout in chunks of
//	                                   random size, then "sha256=<hex> n=<n>" on
//	                                   stderr; exits with code
//	soakchild echo                     copies stdin to stdout until EOF
//	soakchild tree <mode>              prints "pid=<n>" for itself and each member it
//	                                   starts, then "ready", then sleeps; members: a
//	                                   plain child, a setsid escaper and (mode
//	                                   "stubborn") a SIGTERM-ignoring child
//	soakchild sleep [ignore-term]      a member: prints nothing, sleeps 60 s
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: soakchild write|echo|tree|sleep …")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "write":
		seed, _ := strconv.ParseUint(os.Args[2], 10, 64)
		n, _ := strconv.Atoi(os.Args[3])
		code, _ := strconv.Atoi(os.Args[4])
		os.Exit(write(seed|1, n, code))
	case "echo":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			os.Exit(3)
		}
	case "tree":
		tree(len(os.Args) > 2 && os.Args[2] == "stubborn")
	case "sleep":
		if len(os.Args) > 2 && os.Args[2] == "ignore-term" {
			signal.Ignore(syscall.SIGTERM)
		}
		time.Sleep(60 * time.Second)
	default:
		os.Exit(2)
	}
}

// next is xorshift64: the same seed gives the same bytes in the soak driver's check.
func next(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}

func write(x uint64, n, code int) int {
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for left := n; left > 0; {
		x = next(x)
		size := min(left, 1+int(x%uint64(len(buf))))
		for i := 0; i < size; i++ {
			x = next(x)
			buf[i] = byte(x)
		}
		if _, err := os.Stdout.Write(buf[:size]); err != nil {
			return 3
		}
		h.Write(buf[:size])
		left -= size
	}
	fmt.Fprintf(os.Stderr, "sha256=%s n=%d\n", hex.EncodeToString(h.Sum(nil)), n)
	return code
}

func tree(stubborn bool) {
	self, _ := os.Executable()
	fmt.Printf("pid=%d\n", os.Getpid())
	start := func(setsid bool, args ...string) {
		cmd := exec.Command(self, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
		if err := cmd.Start(); err != nil {
			fmt.Printf("error=%v\n", err)
			return
		}
		fmt.Printf("pid=%d\n", cmd.Process.Pid)
	}
	start(false, "sleep")
	start(true, "sleep")
	if stubborn {
		start(false, "sleep", "ignore-term")
	}
	fmt.Println("ready")
	time.Sleep(60 * time.Second)
}
