//go:build !linux

package queue

// Background lowers the calling goroutine's priority on Linux only.
func Background() {}
