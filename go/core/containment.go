package core

// Config holds the settings a host may pass after load (see pws_configure); nil
// fields keep their value.
type Config struct {
	Helper *string `json:"helper"`
	Cgroup *string `json:"cgroup"`
	// HelperPath is the helper executable the host found (exact; used when Helper
	// is ""). The library does not look for it itself.
	HelperPath *string `json:"helperPath"`
}

// ContainmentInfo says how trees are contained for the next spawn.
type ContainmentInfo struct {
	Mode       string `json:"mode"` // "helper" or "fallback"
	HelperPid  int    `json:"helperPid,omitempty"`
	HelperPath string `json:"helperPath,omitempty"`
	Reason     string `json:"reason,omitempty"` // why the helper is not used
	// Cgroup is the helper's cgroup v2 subtree (one cgroup per tree below it), or
	// "" with CgroupReason saying why there is none.
	Cgroup       string `json:"cgroup,omitempty"`
	CgroupReason string `json:"cgroupReason,omitempty"`
	// Guarantees lists what holds in this mode.
	Guarantees []string `json:"guarantees"`
}
