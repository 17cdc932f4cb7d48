//go:build !unix

package sqlite

// lockDir is a no-op where flock(2) does not exist: concurrent first opens
// of one new file are then not serialised.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
