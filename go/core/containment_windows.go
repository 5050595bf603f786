package core

// Containment reports how the next spawn's tree will be contained: a Job Object
// per tree.
func Containment() ContainmentInfo {
	return ContainmentInfo{Mode: "job", Reason: "Windows: each tree is held by a Job Object (see proc_windows.go)",
		Guarantees: []string{"job-object"}}
}
