//go:build !linux

package core

// Configure is accepted everywhere; only Linux has a helper to configure.
func Configure(cfg Config) {}
