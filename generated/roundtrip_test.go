package generated_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/distributeai/asyncspeech/generated"
)

// memServer is a minimal in-test implementation of the strict server, just
// enough to prove the generated client and server agree on the wire.
type memServer struct {
	mu    sync.Mutex
	tasks map[string]generated.AsyncSpeechCreateJSONRequestBody
}

func (s *memServer) AsyncSpeechCreate(_ context.Context, req generated.AsyncSpeechCreateRequestObject) (generated.AsyncSpeechCreateResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	s.tasks[id] = *req.Body
	return generated.AsyncSpeechCreate200JSONResponse{Id: id}, nil
}

func (s *memServer) AsyncSpeechResult(_ context.Context, req generated.AsyncSpeechResultRequestObject) (generated.AsyncSpeechResultResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	task, ok := s.tasks[req.Body.Id]
	if !ok {
		return generated.AsyncSpeechResult404JSONResponse{Message: "task " + req.Body.Id + " not found"}, nil
	}
	url := "http://example.test/audio.wav"
	finished := 1700000001.5
	return generated.AsyncSpeechResult200JSONResponse{
		Id:       req.Body.Id,
		Status:   generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED,
		Created:  1700000000.25,
		Finished: &finished,
		Model:    string(task.Model),
		Results:  []generated.AsyncSpeechResult200JSONResponseBody_Results{{Url: &url}},
	}, nil
}

var _ generated.StrictServerInterface = (*memServer)(nil)

func TestClientServerRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	h := generated.HandlerFromMux(generated.NewStrictHandler(&memServer{tasks: map[string]generated.AsyncSpeechCreateJSONRequestBody{}}, nil), mux)
	srv := httptest.NewServer(h)
	defer srv.Close()

	c, err := generated.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var voice generated.AsyncSpeechCreateJSONBody_Voice
	if err := voice.FromAsyncSpeechCreateJSONBodyVoice0(generated.AsyncSpeechCreateJSONBodyVoice0Nora); err != nil {
		t.Fatal(err)
	}
	cr, err := c.AsyncSpeechCreateWithResponse(ctx, generated.AsyncSpeechCreateJSONRequestBody{
		Model: generated.AsyncSpeechCreateJSONBodyModelChatterbox,
		Input: "hello world",
		Voice: &voice,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cr.StatusCode() != 200 || cr.JSON200 == nil {
		t.Fatalf("create: got status %d body %s, want 200 with an id", cr.StatusCode(), cr.Body)
	}

	tests := []struct {
		name       string
		id         string
		wantStatus int
	}{
		{name: "known id", id: cr.JSON200.Id, wantStatus: 200},
		{name: "unknown id", id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr, err := c.AsyncSpeechResultWithResponse(ctx, generated.AsyncSpeechResultJSONRequestBody{Id: tc.id})
			if err != nil {
				t.Fatal(err)
			}
			if got := rr.StatusCode(); got != tc.wantStatus {
				t.Fatalf("got status %d, want %d (body %s)", got, tc.wantStatus, rr.Body)
			}
			switch tc.wantStatus {
			case 200:
				r := rr.JSON200
				if r == nil || r.Id != tc.id || r.Status != generated.AsyncSpeechResult200JSONResponseBodyStatusCOMPLETED {
					t.Fatalf("got %+v, want COMPLETED task %s", r, tc.id)
				}
				if r.Created != 1700000000.25 {
					t.Errorf("created: got %v, want 1700000000.25 (float64 keeps the fraction)", r.Created)
				}
				if r.Model != "Chatterbox" || len(r.Results) != 1 || r.Results[0].Url == nil {
					t.Errorf("got model %q results %+v, want Chatterbox with one url", r.Model, r.Results)
				}
			case 404:
				if rr.JSON404 == nil || rr.JSON404.Message == "" {
					t.Fatalf("got 404 body %s, want a {message}", rr.Body)
				}
			}
		})
	}
}
