package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLinesRoundTrip(t *testing.T) {
	var b bytes.Buffer
	sent := []Msg{
		{Op: "hello", Pid: 7, Build: "pws-build-id:x"},
		{Op: "watch", ID: 1, Pid: 4242, Start: 1764280000123456},
		{Op: "letgo", ID: 1, Pids: []int{5, 6}},
		{Op: "reap", ID: 1},
		// A newline inside a string must not split the message.
		{Op: "hello", Pid: 8, Reason: "two\nlines"},
	}
	for _, m := range sent {
		if err := WriteLine(&b, m); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(b.String(), "\n"); n != len(sent) {
		t.Fatalf("%d newlines for %d messages", n, len(sent))
	}
	r := NewLineReader(&b)
	for i, want := range sent {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.Op != want.Op || got.ID != want.ID || got.Pid != want.Pid || got.Start != want.Start || got.Reason != want.Reason || len(got.Pids) != len(want.Pids) {
			t.Errorf("message %d: got %+v, want %+v", i, got, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last line: %v, want io.EOF", err)
	}
}

// A line over MaxMsg is refused and skipped; the next one is read; a last line
// without its newline is the peer's death mid-write, not a message.
func TestLinesBounded(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"op":"hello","pid":1,"reason":"` + strings.Repeat("x", MaxMsg+10) + "\"}\n")
	WriteLine(&b, Msg{Op: "reap", ID: 3})
	b.WriteString(`{"op":"reap","id":4}`)
	r := NewLineReader(&b)
	if _, err := r.Next(); !errors.Is(err, ErrBadMsg) {
		t.Fatalf("over-long line: %v, want ErrBadMsg", err)
	}
	if m, err := r.Next(); err != nil || m.Op != "reap" || m.ID != 3 {
		t.Fatalf("line after the long one: %+v %v", m, err)
	}
	if m, err := r.Next(); err != io.EOF {
		t.Fatalf("unterminated last line: %+v %v, want io.EOF", m, err)
	}
}

func TestWatchChecks(t *testing.T) {
	for _, bad := range []string{
		`{"op":"watch","pid":42,"start":1}`,
		`{"op":"watch","id":1,"start":1}`,
		`{"op":"watch","id":1,"pid":1,"start":1}`,
		`{"op":"watch","id":1,"pid":42}`,
		`{"op":"watch","id":1,"pid":42,"start":-5}`,
	} {
		if _, err := Decode([]byte(bad)); !errors.Is(err, ErrBadMsg) {
			t.Errorf("%s: accepted", bad)
		}
	}
	if _, err := Decode([]byte(`{"op":"watch","id":1,"pid":42,"start":5}`)); err != nil {
		t.Errorf("good watch refused: %v", err)
	}
}
