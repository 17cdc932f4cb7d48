package sqlite_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/api/store/storetest"
)

// BenchmarkReadAudio measures one whole download of a 1 MiB result the
// way the results handler serves it: an io.SectionReader over
// store.AudioReader, copied by io.Copy's 32 KiB buffer (what
// http.ServeContent does through a ResponseWriter without ReadFrom), so
// one ReadAudio call per 32 KiB. The queries each call makes are most of
// its cost: go test -run '^$' -bench ReadAudio -count 5 ./api/store/sqlite
func BenchmarkReadAudio(b *testing.B) {
	const size = 1 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	s := open(b, filepath.Join(b.TempDir(), "tasks.db"))
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	tk := storetest.Completed(b, s, "o", now, store.Audio{ContentType: "audio/wav", Data: data})
	buf := make([]byte, 32<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		// A download looks the file up once, then streams it.
		info, err := s.AudioInfo(ctx, tk.ID, 0)
		if err != nil {
			b.Fatal(err)
		}
		body := io.NewSectionReader(store.AudioReader(ctx, s, tk.ID, 0, info), 0, info.Size)
		n, err := io.CopyBuffer(writerOnly{io.Discard}, body, buf)
		if err != nil || n != size {
			b.Fatalf("download: copied %d bytes, %v, want %d", n, err, size)
		}
	}
}

// writerOnly hides io.Discard's ReadFrom, so io.CopyBuffer reads through
// the given buffer as it does into an http.ResponseWriter.
type writerOnly struct{ io.Writer }
