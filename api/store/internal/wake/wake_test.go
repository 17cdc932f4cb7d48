package wake

import (
	"context"
	"testing"
	"time"
)

func TestHubCoalescesAndCloses(t *testing.T) {
	var h Hub
	ctx, cancel := context.WithCancel(context.Background())
	a, b := h.Subscribe(ctx), h.Subscribe(context.Background())
	for range 3 {
		h.Signal() // never blocks, even with nobody reading
	}
	for name, ch := range map[string]<-chan struct{}{"a": a, "b": b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatalf("subscriber %s: no signal", name)
		}
		select {
		case <-ch:
			t.Errorf("subscriber %s: got a second signal, want three signals coalesced into one", name)
		default:
		}
	}
	cancel()
	select {
	case _, open := <-a:
		if open {
			t.Error("subscriber a: got a value after cancel, want the channel closed")
		}
	case <-time.After(time.Second):
		t.Fatal("subscriber a: channel not closed within 1s of cancel")
	}
	h.Signal() // must not panic on the closed subscriber
	select {
	case <-b:
	case <-time.After(time.Second):
		t.Fatal("subscriber b: no signal after a's cancel")
	}
}
