// Package wake is the in-process implementation of store.Notifier shared by
// the embedded stores: a set of subscribers, each with a one-slot channel, so
// a signal is coalesced and never blocks the writer that sends it.
package wake

import (
	"context"
	"sync"
)

// Hub fans signals out to subscribers. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a value whenever Signal is
// called (coalesced while the subscriber is busy); it is closed when ctx ends.
func (h *Hub) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[chan struct{}]struct{})
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, ch)
		close(ch)
		h.mu.Unlock()
	}()
	return ch
}

// Signal wakes every subscriber without blocking.
func (h *Hub) Signal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
