package loadgen_test

// Hot-path benchmarks of the request/response validator (api/validate has
// none of its own). Names follow benchstat's key=value convention:
//
//	go test -run '^$' -bench 'Validate' -benchmem -count 10 ./api/loadgen | tee new.txt
//	benchstat old.txt new.txt

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/distributeai/asyncspeech/api/loadgen"
	"github.com/distributeai/asyncspeech/api/validate"
)

const benchTaskID = "5b0c3c1e-8f8a-4d43-9a51-1c2f6f0e7d11"

// benchResultBody is a COMPLETED task with one signed URL, as speechd sends.
const benchResultBody = `{"id":"` + benchTaskID + `","status":"COMPLETED","created":1764000000.123,"finished":1764000001.456,"model":"Chatterbox",` +
	`"results":[{"url":"http://127.0.0.1:8080/results/` + benchTaskID + `/0.wav?exp=1764086400&sig=3b1f0c7a9e2d4b6f8a0c1e3d5f7b9a2c4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b"}]}`

func newBenchValidator(b *testing.B) *validate.Validator {
	b.Helper()
	v, err := validate.New(context.Background(), validate.Options{
		Strict: true,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatalf("validate.New: %v", err)
	}
	return v
}

func BenchmarkValidateRequest(b *testing.B) {
	v := newBenchValidator(b)
	cases := []struct{ name, path, body string }{
		{"op=result", loadgen.ResultPath(), `{"id":"` + benchTaskID + `"}`},
		{"op=create", loadgen.CreatePath(), loadgen.CreateBody},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			req := httptest.NewRequest(http.MethodPost, c.path, nil)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "k")
			rd := bytes.NewReader(body)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				req.ContentLength = int64(len(body))
				if _, err := v.ValidateRequest(ctx, req); err != nil {
					b.Fatalf("valid %s request refused: %v", c.name, err)
				}
			}
		})
	}
}

func BenchmarkValidateResponse(b *testing.B) {
	v := newBenchValidator(b)
	cases := []struct{ name, path, body string }{
		{"op=result/status=200", loadgen.ResultPath(), benchResultBody},
		{"op=result/status=404", loadgen.ResultPath(), `{"message":"task not found"}`},
		{"op=create/status=200", loadgen.CreatePath(), `{"id":"` + benchTaskID + `"}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			status := http.StatusOK
			if c.name == "op=result/status=404" {
				status = http.StatusNotFound
			}
			req := httptest.NewRequest(http.MethodPost, c.path, nil)
			header := http.Header{"Content-Type": {"application/json"}}
			body := []byte(c.body)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Response(ctx, req, status, header, body); err != nil {
					b.Fatalf("valid %s response refused: %v", c.name, err)
				}
			}
		})
	}
}
