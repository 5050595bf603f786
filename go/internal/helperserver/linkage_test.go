package helperserver

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTheLibraryDoesNotLinkTheServer: the shared library (go/capi) lives inside
// Node, whose libuv owns the signals, so it must carry neither this package nor
// os/signal (go/core's doc.go says so).
func TestTheLibraryDoesNotLinkTheServer(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "../../capi", "../../core").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "os/signal" || strings.HasSuffix(dep, "/go/internal/helperserver") {
			t.Errorf("the library links %s", dep)
		}
	}
}
