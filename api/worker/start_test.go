package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/engine/tone"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/worker"
)

// startStore fails RequeueExpired with err, or blocks it until ctx ends.
type startStore struct {
	store.Store
	err error
}

func (s *startStore) RequeueExpired(ctx context.Context, _ time.Time) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestRunStoppedWhileStarting: a pool stopped during its start-up requeue
// returns nil (a clean stop, nothing claimed); a store that fails at start
// is an error, whether or not the pool is also being stopped.
func TestRunStoppedWhileStarting(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		stop    bool
		wantErr bool
	}{
		{"stopped during the requeue", nil, true, false},
		{"store down", errors.New("db down"), false, true},
		{"store down while stopping", errors.New("db down"), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.stop {
				if tt.err != nil {
					cancel()
				} else {
					time.AfterFunc(20*time.Millisecond, cancel)
				}
			}
			p := worker.New(&startStore{Store: memory.New(), err: tt.err}, tone.New(tone.Options{}), worker.Options{})
			if err := p.Run(ctx); (err != nil) != tt.wantErr {
				t.Errorf("got %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
}
