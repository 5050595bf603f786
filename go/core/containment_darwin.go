package core

// Containment reports how the next spawn's tree will be contained. The helper is
// Linux-only so far: here the platform's own means are all there is.
func Containment() ContainmentInfo {
	return ContainmentInfo{Mode: "fallback", Reason: "darwin: the helper is Linux-only so far",
		Guarantees: []string{"session", "pgroup", "ptable"}}
}
