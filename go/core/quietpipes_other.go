//go:build !linux

package core

import (
	"os"
	"time"
)

// startReader starts the stream's reader now (the quiet set is Linux's: see
// quietpipes_linux.go).
func (s *outStream) startReader() { s.wake() }

func unwatchQuiet(*os.File) {}

func (c *Child) startSupervise() { go c.supervise() }

func prepareQuietSet() {}

// awaitEnds sleeps d (the wait on exits is Linux's: see quietpipes_linux.go).
func awaitEnds(_ []int, d time.Duration) { time.Sleep(d) }
