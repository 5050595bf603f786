//go:build !linux

package core

// startReader starts the stream's reader now (the quiet set is Linux's: see
// quietpipes_linux.go).
func (s *outStream) startReader() { s.wake() }

func (s *outStream) unwatch() {}

func (c *Child) startSupervise() { go c.supervise() }

func prepareQuietSet() {}
