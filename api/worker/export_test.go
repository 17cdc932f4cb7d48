package worker

// PendingTimers reports how many POSTPONED wake-ups are still to fire, for
// the tests in package worker_test.
func (p *Pool) PendingTimers() int {
	p.timersMu.Lock()
	defer p.timersMu.Unlock()
	return len(p.timers)
}
