package httpguard

// OpenConns returns the number of guarded connections open now (tests only: the
// server's own count is its connection-state hook's).
func (l *Listener) OpenConns() int { return int(l.open.Load()) }
