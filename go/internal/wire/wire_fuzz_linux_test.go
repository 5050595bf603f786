package wire

// Fuzz targets for what each side decodes from the other (issue 10): the messages
// of both sides and the spawn request handed over in a memfd. None may panic or
// hang. (The two receive loops are fuzzed where they live: go/internal/helperserver
// and go/core.)
//
//	go test -run='^$' -fuzz=FuzzHelperMsg -fuzztime=60s ./go/internal/wire
//	go test -run='^$' -fuzz=FuzzHelperRequestFile -fuzztime=60s ./go/internal/wire

import (
	"bytes"
	"encoding/json"
	"testing"

	"golang.org/x/sys/unix"
)

func FuzzHelperMsg(f *testing.F) {
	for _, b := range Examples() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err == nil {
			// What decodes re-encodes to a message that decodes the same.
			again, _ := json.Marshal(m)
			m2, err := Decode(again)
			if err != nil {
				t.Fatalf("%q decoded, but its re-encoding %q did not: %v", b, again, err)
			}
			if b2, _ := json.Marshal(m2); !bytes.Equal(b2, again) {
				t.Fatalf("round trip changed %q into %q", again, b2)
			}
		}
		if r, err := DecodeSpawnRequest(b, 5); err == nil && (r.ID != 5 || r.Path == "" || len(r.Argv) == 0 || r.Request != 0) {
			t.Fatalf("request %q accepted as %+v", b, r)
		}
	})
}

func FuzzHelperRequestFile(f *testing.F) {
	for _, b := range Examples() {
		f.Add(b, int64(len(b)))
	}
	f.Add([]byte{}, int64(0))
	f.Add([]byte("{}"), int64(MaxRequest+1))
	f.Fuzz(func(t *testing.T, b []byte, n int64) {
		fd, err := unix.MemfdCreate("fuzz-request", unix.MFD_CLOEXEC)
		if err != nil {
			t.Skip(err)
		}
		defer unix.Close(fd)
		if _, err := unix.Write(fd, b); err != nil && len(b) > 0 {
			t.Fatal(err)
		}
		got, errno := ReadRequestFile(fd, n)
		if errno == 0 && !bytes.Equal(got, b) {
			t.Fatalf("read %d bytes of a %d-byte file declared %d", len(got), len(b), n)
		}
		if errno == 0 {
			DecodeSpawnRequest(got, 1)
		}
	})
}
