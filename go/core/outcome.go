package core

// Reasons a child ended, as reported in Outcome.Reason.
const (
	ReasonExit    = "exit"    // the leader exited by itself
	ReasonAbort   = "abort"   // the host's AbortSignal fired
	ReasonTimeout = "timeout" // Options.TimeoutMs elapsed
	ReasonStop    = "stop"    // stop()/kill() from the host
	ReasonHost    = "host"    // the host environment went away (hub closed)
)

// Outcome is how a child ended; it is the payload of the EXIT event, as JSON.
type Outcome struct {
	Pid         int      `json:"pid"`
	Code        *int     `json:"code"`   // exit code, nil when killed by a signal
	Signal      *string  `json:"signal"` // e.g. "SIGKILL", nil when it exited
	Reason      string   `json:"reason"`
	StdoutBytes int64    `json:"stdoutBytes"`
	StderrBytes int64    `json:"stderrBytes"`
	Truncated   bool     `json:"truncated"` // a stream was cut before EOF (drain bound)
	Leftovers   []int    `json:"leftovers"` // tree members left running (natural exit) or killed after it
	DurationMs  float64  `json:"durationMs"`
	Phases      Phases   `json:"phases"`
	Errors      []string `json:"errors"` // bounds that fired, internal failures: reported, never swallowed
	Containment string   `json:"containment"`
}

// Phases are the milliseconds each stage took; zero when it did not happen.
type Phases struct {
	RunMs   float64 `json:"runMs"`   // spawn to leader exit
	GraceMs float64 `json:"graceMs"` // first signal to tree gone or SIGKILL
	KillMs  float64 `json:"killMs"`  // SIGKILL to confirmed empty
	DrainMs float64 `json:"drainMs"` // leader exit to both streams closed
}
