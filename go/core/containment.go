package core

// ContainmentInfo says how trees are contained for the next spawn.
type ContainmentInfo struct {
	Mode       string `json:"mode"` // "helper" or "fallback"
	HelperPid  int    `json:"helperPid,omitempty"`
	HelperPath string `json:"helperPath,omitempty"`
	Reason     string `json:"reason,omitempty"` // why the helper is not used
	// Guarantees lists what holds in this mode.
	Guarantees []string `json:"guarantees"`
}
