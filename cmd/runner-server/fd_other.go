//go:build !unix

package main

// isSocket: the process transport is for Unix systems (musl) only.
func isSocket(int) bool { return false }
