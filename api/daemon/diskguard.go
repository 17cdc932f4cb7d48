package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// diskGuard refuses new tasks while the data directory's file system has
// less than min bytes free: audio is written when tasks complete, so a disk
// that is nearly full must stop taking work before it fills. It measures at
// most once per every interval, on demand.
type diskGuard struct {
	dir      string
	min      uint64
	every    time.Duration
	free     func(string) (uint64, error)
	mu       sync.Mutex
	measured time.Time
	last     uint64
	lastErr  error
}

// check returns an error naming the shortfall when free space is under min.
// A file system whose space cannot be read is not refused (the store's own
// write errors still answer for it).
func (g *diskGuard) check(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := time.Now(); now.Sub(g.measured) >= g.every {
		g.last, g.lastErr = g.free(g.dir)
		g.measured = now
	}
	if g.lastErr != nil || g.last >= g.min {
		return nil
	}
	return fmt.Errorf("the data directory's disk has %d MiB free, less than --min-free-disk (%d MiB): new tasks wait until space is freed", g.last>>20, g.min>>20)
}
