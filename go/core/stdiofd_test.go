//go:build linux

package core

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// A stdio "fd:N" gives the leader a copy of the host's fd N: its output lands in the
// file the host opened, the host's fd stays open, and a bad N is refused as usage.
func TestStdioFdGivesTheLeaderACopyOfAHostFd(t *testing.T) {
	h := newHarness(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mode := "fd:" + strconv.Itoa(int(f.Fd()))
	c := h.start(&Options{Argv: helperArgv("write", "to the file\n", "to stderr\n", "0"), Stdout: mode, Stderr: mode})
	h.waitExit(c)
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "to the file\nto stderr\n" && string(got) != "to stderr\nto the file\n" {
		t.Errorf("file holds %q", got)
	}
	if _, err := f.Write([]byte("host still writes\n")); err != nil {
		t.Errorf("the host's fd was closed: %v", err)
	}
	for _, bad := range []string{"fd:", "fd:-1", "fd:x", "fd:01"} {
		if _, err := ParseOptions([]byte(`{"argv":["x"],"stdout":"` + bad + `"}`)); err == nil {
			t.Errorf("stdout %q accepted", bad)
		}
	}
}

// The "socket" mode: the leader's stdio are sockets (what Node's 'pipe' gives), carrying
// stdin and output like a pipe does, 2>&1 included.
func TestStdioSocketModeCarriesLikeAPipe(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: []string{"/bin/sh", "-c", `test -S /dev/stdin && test -S /dev/stdout && echo sockets; cat; echo err >&2`}, Stdin: StdioSocket, Stdout: StdioSocket, Stderr: StdioStdout})
	if err := c.Write([]byte("through stdin\n"), 1); err != nil {
		t.Fatal(err)
	}
	c.CloseStdin()
	o := h.waitExit(c)
	k := h.kidCopy(c)
	if string(k.stdout) != "sockets\nthrough stdin\nerr\n" || o.Code == nil || *o.Code != 0 {
		t.Errorf("stdout %q code %v", k.stdout, o.Code)
	}
}
