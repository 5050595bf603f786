package core

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
)

// A helper whose hello names another build than the library's (wire.BuildID) is not
// used: the spawn goes to the fallback, Containment says why, and the helper is gone.
// Here the host claims a build id the helper (this binary, started afresh, unstamped)
// does not have.
func TestHelperOfAnotherBuildIsNotUsed(t *testing.T) {
	h := newHarness(t)
	old := wire.BuildID
	wire.BuildID = "pws-build-id:0123456789abcdef"
	t.Cleanup(func() { wire.BuildID = old })
	useHelper(t, selfExe())
	c := h.start(&Options{Argv: helperArgv("echo", "hi"), Stdout: StdioPipe})
	if o := h.waitExit(c); strings.HasPrefix(o.Containment, "helper") {
		t.Errorf("containment %q with a helper of another build", o.Containment)
	}
	info := Containment()
	want := `is from another build (""; this library: "pws-build-id:0123456789abcdef")`
	if info.Mode != "fallback" || !strings.Contains(info.Reason, want) {
		t.Errorf("containment %+v, want fallback with reason containing %s", info, want)
	}
	if live, zombies := waitNoChildrenNamed(filepath.Base(selfExe()), 5*time.Second); len(live)+len(zombies) > 0 {
		t.Errorf("helper processes left: live %v, zombies %v", live, zombies)
	}
}
