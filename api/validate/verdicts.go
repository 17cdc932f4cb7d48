package validate

import (
	"hash/maphash"
	"math/bits"
	"net/http"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/getkin/kin-openapi/routers"
)

// Verdict reuse. kin-openapi's verdict on a request or response is a pure
// function of the operation, the status (responses), the headers it reads
// and the body bytes: the same input always gets the same answer. Clients
// poll the result call with the same body again and again, and a finished
// task's answer is byte-identical between polls (result links carry a
// bucketed expiry, api/server/results), so the Middleware remembers which inputs
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
// The memory is bounded: at most Options.Verdicts entries of at most
// MaxVerdictBody bytes each, Content-Type and body together (a client
// chooses its Content-Type, parameters and all, so it counts too).
//
// A hit is the common case (every poll of a finished task), so it is kept
// to one hash of the input, a map lookup and the byte compare. The entries
// are split into shards by that hash, each behind its own RWMutex, so hits
// on two cores neither wait for each other nor write to a shared cache
// line; and eviction is CLOCK (second chance) rather than LRU, so a hit
// sets a flag at most once instead of relinking a list on every call. The
// price: each shard holds its share of the bound and evicts on its own, the
// entry it evicts being one not hit since the sweep last passed it rather
// than the least recently used of all.

// DefaultVerdicts is Options.Verdicts when 0: room for the request and the
// answer of about 16 000 distinct polled tasks.
const DefaultVerdicts = 32768

// MaxVerdictBody is the most bytes of Content-Type and body together whose
// verdict is remembered: a result
// call's request and a finished task's answer are a few hundred bytes; a
// create body, which may be 50 KB, mostly carries defaults anyway.
const MaxVerdictBody = 1024

const (
	// maxVerdictShards is enough for hits on a few cores to rarely meet on
	// one lock; more would only spread a small bound thinner.
	maxVerdictShards = 32
	// minVerdictShare keeps each shard's share of the bound large enough
	// that the hash's uneven spread does not evict from a full shard while
	// the others still have much room.
	minVerdictShare = 256
)

type verdictKind uint8

const (
	kindRequest verdictKind = iota + 1
	kindResponse
)

// verdict is one remembered pass, a slot in its shard's ring.
type verdict struct {
	hash  uint64
	route *routers.Route
	ct    string
	// body is a string so it is copied once, on insert, and compared with
	// the looked-up bytes without a conversion.
	body   string
	status int32
	kind   verdictKind
	// ref is CLOCK's second chance: set by a hit (under the read lock, so
	// atomically), cleared by the sweep that spares the entry once.
	ref atomic.Bool
	// next is the next slot with the same hash, or -1: hashes may collide,
	// and then every colliding entry stays reachable and is compared.
	next int32
}

func (e *verdict) is(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) bool {
	return e.kind == kind && e.route == rt && int(e.status) == status && e.ct == ct && e.body == string(body)
}

// verdictShard pads its fields to 128 bytes: shards sit side by side, and
// two of them on one cache line (or on an adjacent pair, which some CPUs
// fetch together) would make hits on different shards contend after all.
type verdictShard struct {
	verdictShardFields
	_ [(128 - unsafe.Sizeof(verdictShardFields{})%128) % 128]byte
}

type verdictShardFields struct {
	mu sync.RWMutex
	// m leads from a hash to the first slot holding it.
	m     map[uint64]int32
	slots []verdict
	share int // slots never exceeds this
	hand  int // CLOCK's hand: the next slot the sweep looks at
	// The counters are per shard, so a hit writes only lines of its own
	// shard (the lock's and the counters'), never another shard's.
	hits, misses atomic.Int64
}

type verdicts struct {
	seed   maphash.Seed
	max    int
	shift  uint // a hash's top bits pick its shard
	shards []verdictShard
}

func newVerdicts(max int) *verdicts {
	if max <= 0 {
		return nil
	}
	n := 1
	for n < maxVerdictShards && max >= 2*n*minVerdictShare {
		n *= 2
	}
	c := &verdicts{seed: maphash.MakeSeed(), max: max, shift: uint(64 - bits.TrailingZeros(uint(n))), shards: make([]verdictShard, n)}
	for i := range c.shards {
		s := &c.shards[i]
		// The remainder goes to the first shards: the shares sum to max.
		s.share = max / n
		if i < max%n {
			s.share++
		}
		s.m = map[uint64]int32{}
	}
	return c
}

// hash mixes what tells inputs apart. The body and the content type come
// from clients, so they go through the seeded hash: no one can aim inputs
// at one hash and make a long chain of them. The route is hashed by its
// pointer, since its method and path strings cost a walk per call to say
// the same; the kind and the status come from the server, so a multiply
// spreads them well enough.
func (c *verdicts) hash(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) uint64 {
	h := maphash.Bytes(c.seed, body)
	h ^= bits.RotateLeft64(maphash.String(c.seed, ct), 21)
	h ^= bits.RotateLeft64(maphash.Comparable(c.seed, rt), 42)
	h ^= (uint64(status)<<8 | uint64(kind)) * 0x9e3779b97f4a7c15
	return h
}

func (c *verdicts) shard(h uint64) *verdictShard {
	return &c.shards[h>>c.shift]
}

// passed reports whether exactly this input passed before.
func (c *verdicts) passed(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) bool {
	if c == nil || len(ct)+len(body) > MaxVerdictBody {
		return false
	}
	h := c.hash(kind, rt, status, ct, body)
	s := c.shard(h)
	s.mu.RLock()
	i := s.find(h, kind, rt, status, ct, body)
	if i >= 0 {
		// Only the first hit after a sweep writes: later ones leave the
		// slot's cache line clean.
		if e := &s.slots[i]; !e.ref.Load() {
			e.ref.Store(true)
		}
	}
	s.mu.RUnlock()
	if i < 0 {
		s.misses.Add(1)
		return false
	}
	s.hits.Add(1)
	return true
}

// pass remembers that this input passed kin-openapi's validation.
func (c *verdicts) pass(kind verdictKind, rt *routers.Route, status int, ct string, body []byte) {
	if c == nil || len(ct)+len(body) > MaxVerdictBody {
		return
	}
	h := c.hash(kind, rt, status, ct, body)
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Another request with the same input may have passed meanwhile.
	if s.find(h, kind, rt, status, ct, body) < 0 {
		s.insert(h, kind, rt, status, ct, body)
	}
}

// find returns the slot holding this input under hash h, or -1. The caller
// holds s.mu.
func (s *verdictShard) find(h uint64, kind verdictKind, rt *routers.Route, status int, ct string, body []byte) int32 {
	i, ok := s.m[h]
	if !ok {
		return -1
	}
	for ; i >= 0; i = s.slots[i].next {
		if s.slots[i].is(kind, rt, status, ct, body) {
			return i
		}
	}
	return -1
}

// insert stores the input under hash h, evicting when the shard is at its
// share. The caller holds s.mu for writing.
func (s *verdictShard) insert(h uint64, kind verdictKind, rt *routers.Route, status int, ct string, body []byte) {
	var i int32
	if len(s.slots) < s.share {
		s.slots = append(s.slots, verdict{})
		i = int32(len(s.slots) - 1)
	} else {
		i = s.victim()
		s.unlink(i)
	}
	e := &s.slots[i]
	e.hash, e.route, e.ct, e.body, e.status, e.kind = h, rt, ct, string(body), int32(status), kind
	// A new entry has no second chance until it is hit: a one-off input
	// goes at the next sweep and does not push out inputs that recur.
	e.ref.Store(false)
	e.next = -1
	if head, ok := s.m[h]; ok {
		e.next = head
	}
	s.m[h] = i
}

// victim sweeps the ring from the hand, sparing each referenced slot once,
// and returns the first slot not referenced since the last sweep; within
// one turn of the ring, since the sweep clears what it spares.
func (s *verdictShard) victim() int32 {
	for {
		i := s.hand
		if s.hand++; s.hand == len(s.slots) {
			s.hand = 0
		}
		if e := &s.slots[i]; e.ref.Load() {
			e.ref.Store(false)
		} else {
			return int32(i)
		}
	}
}

// unlink takes slot i out of its hash's chain.
func (s *verdictShard) unlink(i int32) {
	e := &s.slots[i]
	head := s.m[e.hash]
	switch {
	case head == i && e.next < 0:
		delete(s.m, e.hash)
	case head == i:
		s.m[e.hash] = e.next
	default:
		p := head
		for s.slots[p].next != i {
			p = s.slots[p].next
		}
		s.slots[p].next = e.next
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
	st := VerdictStats{Max: c.max}
	for i := range c.shards {
		s := &c.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		s.mu.RLock()
		st.Entries += len(s.slots)
		s.mu.RUnlock()
	}
	return st
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
