package validate

import (
	"bytes"
	"container/list"
	"hash/maphash"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/getkin/kin-openapi/routers"
)

// Verdict reuse. kin-openapi's verdict on a request or response is a pure
// function of the operation, the status (responses), the headers it reads
// and the body bytes: the same input always gets the same answer. Clients
// poll the result call with the same body again and again, and a finished
// task's answer is byte-identical between polls (result links carry a
// bucketed expiry, api/results), so the Middleware remembers which inputs
// kin-openapi passed and does not decode and walk them again.
//
// Only passes are remembered, only for inputs whose verdict depends on
// nothing but what the key holds, and a verdict is reused only when every
// byte matches (the stored bytes are compared, not just a hash):
//   - requests of operations without parameters (so only the Content-Type
//     and the body matter; security is not evaluated by the validator) whose
//     body kin-openapi left unchanged (a body it wrote defaults into is
//     never cached: a reused verdict could not reproduce the rewrite);
//   - responses whose documented status declares no headers (so only the
//     Content-Type and the body matter).
//
// The memory is bounded: at most MaxVerdicts entries of at most
// MaxVerdictBody bytes each, least recently used dropped first.

// DefaultVerdicts is Options.Verdicts when 0: room for the request and the
// answer of about 16 000 distinct polled tasks.
const DefaultVerdicts = 32768

// MaxVerdictBody is the largest body whose verdict is remembered: a result
// call's request and a finished task's answer are a few hundred bytes; a
// create body, which may be 50 KB, mostly carries defaults anyway.
const MaxVerdictBody = 1024

type verdictKind uint8

const (
	kindRequest verdictKind = iota + 1
	kindResponse
)

type verdictKey struct {
	kind   verdictKind
	route  *routers.Route
	status int
	ct     string
	body   []byte
}

type verdicts struct {
	seed maphash.Seed
	max  int

	mu  sync.Mutex
	lru *list.List                 // of *verdictKey, most recent first
	m   map[uint64][]*list.Element // hash → entries (collisions kept apart)

	hits, misses atomic.Int64
}

func newVerdicts(max int) *verdicts {
	if max <= 0 {
		return nil
	}
	return &verdicts{seed: maphash.MakeSeed(), max: max, lru: list.New(), m: map[uint64][]*list.Element{}}
}

func (c *verdicts) hash(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteByte(byte(kind))
	h.WriteString(rt.Method)
	h.WriteByte(0)
	h.WriteString(rt.Path)
	h.WriteByte(0)
	var st [8]byte
	for i := range st {
		st[i] = byte(status >> (8 * i))
	}
	h.Write(st[:])
	h.WriteString(ct)
	h.WriteByte(0)
	h.Write(body)
	return h.Sum64()
}

// passed reports whether exactly this input passed before.
func (c *verdicts) passed(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) bool {
	if c == nil || len(body) > MaxVerdictBody {
		return false
	}
	h := c.hash(kind, rt, status, ct, body)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m[h] {
		k := e.Value.(*verdictKey)
		if k.kind == kind && k.route == rt && k.status == status && k.ct == ct && bytes.Equal(k.body, body) {
			c.lru.MoveToFront(e)
			c.hits.Add(1)
			return true
		}
	}
	c.misses.Add(1)
	return false
}

// pass remembers that this input passed kin-openapi's validation.
func (c *verdicts) pass(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) {
	if c == nil || len(body) > MaxVerdictBody {
		return
	}
	h := c.hash(kind, rt, status, ct, body)
	k := &verdictKey{kind: kind, route: rt, status: status, ct: ct, body: bytes.Clone(body)}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m[h] {
		o := e.Value.(*verdictKey)
		if o.kind == kind && o.route == rt && o.status == status && o.ct == ct && bytes.Equal(o.body, body) {
			c.lru.MoveToFront(e)
			return
		}
	}
	c.m[h] = append(c.m[h], c.lru.PushFront(k))
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		ok := old.Value.(*verdictKey)
		oh := c.hash(ok.kind, ok.route, ok.status, ok.ct, ok.body)
		es := c.m[oh]
		for i, e := range es {
			if e == old {
				es = append(es[:i], es[i+1:]...)
				break
			}
		}
		if len(es) == 0 {
			delete(c.m, oh)
		} else {
			c.m[oh] = es
		}
	}
}

// VerdictStats are the counters of verdict reuse.
type VerdictStats struct {
	// Hits counts inputs whose earlier pass was reused; Misses inputs
	// validated by kin-openapi (whether or not then remembered).
	Hits, Misses int64
	// Entries is how many verdicts are held, of at most Max.
	Entries, Max int
}

// VerdictStats returns the counters (zero when reuse is off).
func (v *Validator) VerdictStats() VerdictStats {
	c := v.verdicts
	if c == nil {
		return VerdictStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return VerdictStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: c.lru.Len(), Max: c.max}
}

// requestCacheable reports whether a request verdict of rt depends only on
// the Content-Type and the body: no parameters to read.
func requestCacheable(rt *routers.Route) bool {
	return len(rt.Operation.Parameters) == 0 && len(rt.PathItem.Parameters) == 0
}

// responseCacheable reports whether a response verdict for status depends
// only on the Content-Type and the body: no declared headers to check.
func responseCacheable(rt *routers.Route, status int) bool {
	d := rt.Operation.Responses.Status(status)
	if d == nil {
		d = rt.Operation.Responses.Default()
	}
	return d != nil && d.Value != nil && len(d.Value.Headers) == 0
}

// unchangedBody reports whether r's body is still data: kin-openapi puts
// the same bytes back unless it wrote defaults into them.
func unchangedBody(r *http.Request, data []byte) bool {
	b, ok := r.Body.(*Body)
	if !ok || len(b.data) != len(data) {
		return false
	}
	return len(data) == 0 || &b.data[0] == &data[0]
}
