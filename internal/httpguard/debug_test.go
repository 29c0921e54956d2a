package httpguard

func init() { raisePanics = true } // a bug must fail the tests, not close a connection quietly
