//go:build !unix

package daemon

import "errors"

// diskFree is not measured on this system: --min-free-disk has no effect.
func diskFree(string) (uint64, error) { return 0, errors.ErrUnsupported }
