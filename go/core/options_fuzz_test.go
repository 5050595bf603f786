package core

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseOptions feeds arbitrary bytes to the C ABI's request decoder (pws_spawn
// hands the host's JSON to ParseOptions as is). It must never panic, and whatever
// it accepts must satisfy every rule validate states, survive a JSON round trip
// unchanged, and be refused with a typed usage error otherwise.
func FuzzParseOptions(f *testing.F) {
	for _, seed := range []string{
		`{"argv":["/bin/true"]}`,
		`{"argv":["sh","-c","echo hi"],"cwd":"/tmp","env":["A=1","PATH=/bin"],"stdin":"pipe","stdout":"pipe","stderr":"stdout"}`,
		`{"argv":["x"],"killSignal":9,"graceMs":0,"timeoutMs":100,"killTreeOnExit":true,"drainIdleMs":0,"drainMaxMs":10000}`,
		`{"argv":["x"],"env":[]}`,
		`{"argv":["x"],"env":null}`,
		`{"argv":["x\u0000"]}`,
		`{"argv":[""]}`,
		`{"argv":["x"],"stdout":"stdout"}`,
		`{"argv":["x"],"killSignal":65}`,
		`{"argv":["x"],"graceMs":-1}`,
		`{"argv":["x"],"graceMs":1e300}`,
		`{"argv":["x"],"unknown":1}`,
		`{"argv":["x"]} {"argv":["y"]}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		o, err := ParseOptions(req)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != "EINVAL" {
				t.Fatalf("error %T %v: want a typed EINVAL usage error", err, err)
			}
			return
		}
		if len(o.Argv) == 0 || o.Argv[0] == "" {
			t.Fatalf("accepted an empty argv: %q", req)
		}
		for _, a := range o.Argv {
			if strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("accepted a NUL in argv: %q", req)
			}
		}
		if strings.IndexByte(o.Cwd, 0) >= 0 {
			t.Fatalf("accepted a NUL in cwd: %q", req)
		}
		if o.Env != nil {
			for _, kv := range *o.Env {
				if strings.IndexByte(kv, 0) >= 0 || !strings.Contains(kv, "=") {
					t.Fatalf("accepted env entry %q", kv)
				}
			}
		}
		for _, m := range []string{o.Stdin, o.Stdout} {
			if m != "" && m != StdioIgnore && m != StdioPipe && m != StdioInherit {
				t.Fatalf("accepted stdio mode %q", m)
			}
		}
		if o.Stderr == StdioStdout && o.Stdout != StdioPipe {
			t.Fatalf("accepted stderr \"stdout\" without a stdout pipe")
		}
		if o.KillSignal < 0 || o.KillSignal > MaxSignal {
			t.Fatalf("accepted killSignal %d", o.KillSignal)
		}
		for _, d := range []*int64{o.GraceMs, o.TimeoutMs, o.DrainIdleMs, o.DrainMaxMs} {
			if d != nil && (*d < 0 || *d > MaxMs) {
				t.Fatalf("accepted a time of %d ms", *d)
			}
			// The duration conversions must not overflow for anything accepted.
			if d != nil && msOr(d, 0) < 0 {
				t.Fatalf("%d ms overflows a Duration", *d)
			}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		o2, err := ParseOptions(b)
		if err != nil {
			t.Fatalf("round trip of accepted %q refused: %v", b, err)
		}
		if !reflect.DeepEqual(o, o2) {
			t.Fatalf("round trip changed the options: %+v → %+v", o, o2)
		}
	})
}
