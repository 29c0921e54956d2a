//go:build !linux && !windows

package bridge

// peerFinished: elsewhere than Linux, a peer gone with bytes still unread is seen when
// they are read.
func peerFinished(int) bool { return false }
