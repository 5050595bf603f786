//go:build !linux && !darwin

package core

// Configure is accepted everywhere; only Linux and macOS have a helper to configure.
func Configure(cfg Config) {}
