package storetest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/memory"
	"github.com/distributeai/asyncspeech/api/store/sqlite"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

// BenchmarkCreate measures durable creates per second with parallel callers
// (64 per core, like an HTTP server under load): memory is the baseline, the
// sqlite figure includes the fsync of each group commit. The -limited
// variants create with CreateWithin, which counts the owner's and the
// store's unfinished tasks in the same step.
func BenchmarkCreate(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(b *testing.B) store.Store { return memory.New() }},
		{"sqlite", func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tasks.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	// limited is CreateWithin with limits that never bind, so every create
	// pays the admission check; Create is the same without it.
	limits := []struct {
		name string
		lim  store.CreateLimits
	}{
		{"", store.CreateLimits{}},
		{"-limited", store.CreateLimits{PerOwner: 1 << 30, Total: 1 << 30}},
	}
	for _, be := range backends {
		for _, l := range limits {
			b.Run(be.name+l.name, func(b *testing.B) {
				s := be.open(b)
				defer s.Close()
				owners := make([]string, 16)
				for i := range owners {
					owners[i] = storetest.Owner(fmt.Sprint("bench", i))
				}
				b.SetParallelism(64)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if err := s.CreateWithin(context.Background(), storetest.NewTask(owners[i%len(owners)], time.Now()), l.lim); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
			})
		}
	}
}

// BenchmarkAdmitBacklog measures one admission pass plus one claim while
// 10 000 tasks from 16 owners wait as CREATED behind a queue of one: the
// cost the admitter pays per task when the queue is full.
func BenchmarkAdmitBacklog(b *testing.B) {
	const backlog = 10_000
	backends := map[string]func(b *testing.B) store.Store{
		"memory": func(b *testing.B) store.Store { return memory.New() },
		"sqlite": func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tasks.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"memory", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			s := backends[name](b)
			defer s.Close()
			ctx := context.Background()
			created := time.UnixMilli(1_800_000_000_000)
			fill := func(n int) {
				errs := make(chan error, n)
				for i := range n {
					go func() {
						errs <- s.Create(ctx, storetest.NewTask(storetest.Owner(fmt.Sprint("o", i%16)), created.Add(time.Duration(i)*time.Millisecond)))
					}()
				}
				for range n {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
			}
			fill(backlog)
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%backlog == 0 {
					b.StopTimer()
					fill(backlog)
					b.StartTimer()
				}
				if n, err := s.Admit(ctx, store.AdmitOptions{Now: created, Capacity: 1, Limit: 256}); err != nil || n != 1 {
					b.Fatalf("Admit: got %d, %v, want 1", n, err)
				}
				if _, err := s.Claim(ctx, store.ClaimOptions{Worker: "w", Now: created, LeaseUntil: created.Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadAudio measures what serving part of an 8 MiB result costs
// on each embedded store: one byte and one 32 KiB send buffer read through
// store.AudioReader (what a download does per write), against reading the
// whole file (what every download did before reads were ranged). Compare
// B/op: go test -run '^$' -bench ReadAudio -benchmem ./api/store/storetest/
func BenchmarkReadAudio(b *testing.B) {
	const size = 8 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	backends := map[string]func(b *testing.B) store.Store{
		"memory": func(b *testing.B) store.Store { return memory.New() },
		"sqlite": func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "tasks.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"memory", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			s := backends[name](b)
			defer s.Close()
			ctx := context.Background()
			now := time.UnixMilli(1_800_000_000_000)
			tk := storetest.Completed(b, s, "o", now, store.Audio{ContentType: "audio/wav", Data: data})
			info, err := s.AudioInfo(ctx, tk.ID, 0)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{1, 32 << 10} {
				b.Run(fmt.Sprintf("range-%dB", n), func(b *testing.B) {
					p := make([]byte, n)
					b.ReportAllocs()
					for i := 0; b.Loop(); i++ {
						off := int64(i*4099) % (size - int64(n))
						if _, err := store.AudioReader(ctx, s, tk.ID, 0, info).ReadAt(p, off); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("whole-file", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if a, err := storetest.ReadAll(ctx, s, tk.ID, 0); err != nil || len(a.Data) != size {
						b.Fatalf("ReadAll: %d bytes, %v", len(a.Data), err)
					}
				}
			})
		})
	}
}
