package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Subscribe returns a channel that receives a value whenever work may be
// ready on any node: a task was created, admitted or requeued, or a
// postponed task fell due. Sends are coalesced (the channel holds at most
// one pending value) and never block. The channel is closed when ctx ends
// or the store closes.
//
// The first Subscribe starts one dedicated connection that LISTENs on the
// schema's channel; after every (re)connect it wakes all subscribers once,
// since notifications sent while it was not listening are lost.
func (s *Store) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		close(ch)
		return ch
	}
	s.subs[ch] = struct{}{}
	if !s.listening {
		s.listening = true
		s.kick = make(chan struct{}, 1)
		s.wg.Add(2)
		go s.listen()
		go s.fanOut()
	}
	s.mu.Unlock()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.ctx.Done():
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
	}()
	return ch
}

// wakeGap is the least time between two wake-ups of the subscribers. Under
// load every create sends a notification; waking every idle worker on
// every node for each of them would turn a burst of creates into a storm
// of empty claims and admission passes. The first notification after a
// quiet spell still wakes at once, and one that arrives within the gap is
// delivered at its end, never dropped.
const wakeGap = 10 * time.Millisecond

// wake asks fanOut to wake the subscribers; it never blocks.
func (s *Store) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// fanOut turns wake requests into broadcasts at most once per wakeGap.
func (s *Store) fanOut() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		}
		s.broadcast()
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wakeGap):
		}
	}
}

// broadcast wakes every subscriber without blocking.
func (s *Store) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// listen keeps a LISTEN connection open until the store closes,
// reconnecting with a capped backoff.
func (s *Store) listen() {
	defer s.wg.Done()
	backoff := 50 * time.Millisecond
	for s.ctx.Err() == nil {
		started := time.Now()
		_ = s.listenOnce(s.ctx)
		if time.Since(started) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect listener: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", s.channel, err)
	}
	s.wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification on %s: %w", s.channel, err)
		}
		s.wake()
	}
}

// requestNotify asks the notifier to send a notification; it never blocks.
func (s *Store) requestNotify() {
	select {
	case s.notifyReq <- struct{}{}:
	default:
	}
}

// notifier sends the notifications that creates ask for, at most one per
// wakeGap. A NOTIFY in every create's transaction would serialise all
// create commits on PostgreSQL's notification queue lock, which cost about
// a third of create throughput in a measurement with 8 concurrent creators
// on this machine. Coalescing here keeps the first wake-up after a quiet
// spell immediate (one round trip after the commit) and sends one more at
// the end of a burst, so no create goes unannounced. If the process dies
// between a commit and its notification, workers' polling picks the task up.
func (s *Store) notifier() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.notifyReq:
		}
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		_ = s.notify(ctx) // a lost hint costs latency, not a task
		cancel()
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wakeGap):
		}
	}
}

// notify wakes idle workers on every node.
func (s *Store) notify(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, s.channel); err != nil {
		return fmt.Errorf("postgres: notify %s: %w", s.channel, err)
	}
	return nil
}

// wakeAt notifies all nodes when a postponed task falls due. This reads the
// wall clock, but only to time a wake-up hint: whether the task is due is
// still decided by Admit with the caller's time. If this process dies first,
// workers' poll intervals pick the task up.
func (s *Store) wakeAt(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(time.Until(at), func() {
		s.mu.Lock()
		if s.timers == nil {
			s.mu.Unlock()
			return
		}
		delete(s.timers, t)
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		defer cancel()
		_ = s.notify(ctx)
	})
	s.timers[t] = struct{}{}
}
