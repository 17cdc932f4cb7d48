package results

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestReusedLinksStayHonest polls links across several expiry buckets, with
// room for fewer links than tasks (so the reuse map is emptied on the way):
// within a bucket a task's link is the same string; every link returned
// verifies at the time it is returned, expires no earlier than ttl and no
// later than ttl plus one bucket; and no link verifies from its expiry on.
func TestReusedLinksStayHonest(t *testing.T) {
	const ttl = time.Hour
	for _, maxLinks := range []int{0, 2, DefaultMaxLinks} {
		t.Run("maxLinks="+strconv.Itoa(maxLinks), func(t *testing.T) {
			c := &clock{t: time.Unix(1_800_000_000, 0)}
			s, err := NewSigner(secret, "https://speech.example.com", ttl, WithNow(c.Now), WithMaxLinks(maxLinks))
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			ids := []string{"0b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90", "1b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90", "2b6f1f4e-8c1d-4e7a-9f3b-2a5c6d7e8f90"}
			last := map[string]string{}
			lastExp := map[string]int64{}
			for step := range 400 {
				now := c.Now()
				for _, id := range ids {
					link := s.URL(id, 0)
					u, err := url.Parse(link)
					if err != nil {
						t.Fatalf("step %d: link %q: %v", step, link, err)
					}
					exp, err := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
					if err != nil {
						t.Fatalf("step %d: link %q has no expiry", step, link)
					}
					if got := time.Unix(exp, 0); got.Before(now.Add(ttl)) || got.After(now.Add(ttl+time.Minute)) {
						t.Fatalf("step %d at %v: expiry %v, want within [now+ttl, now+ttl+1m]", step, now, got)
					}
					if err := s.Verify(id, 0, exp, u.Query().Get("sig")); err != nil {
						t.Fatalf("step %d: fresh link %q does not verify: %v", step, link, err)
					}
					if lastExp[id] == exp && last[id] != link {
						t.Fatalf("step %d: two links for one bucket:\n%s\n%s", step, last[id], link)
					}
					last[id], lastExp[id] = link, exp
				}
				c.Add(7 * time.Second)
			}
			// Every link is refused from its expiry on.
			for _, id := range ids {
				u, _ := url.Parse(last[id])
				c.t = time.Unix(lastExp[id], 0)
				if err := s.Verify(id, 0, lastExp[id], u.Query().Get("sig")); err == nil {
					t.Errorf("link %s verified at its expiry", last[id])
				}
			}
		})
	}
}
