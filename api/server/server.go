// Package server is the reference server's HTTP face: it implements the
// generated strict server interface for the vendor's two operations on a
// store.Store, and composes the middleware (request ids and logging, panic
// recovery, shutdown gate, body limit, content type, auth, rate limit,
// runtime validation) into one http.Handler.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/distributeai/asyncspeech/api/task"

	"github.com/google/uuid"

	"github.com/distributeai/asyncspeech/api/apierr"
	"github.com/distributeai/asyncspeech/api/server/auth"
	"github.com/distributeai/asyncspeech/api/store"
	"github.com/distributeai/asyncspeech/generated"
)

// LinkBuilder makes the URL a client downloads result file index of a task
// from (api/results.Signer makes signed capability links).
type LinkBuilder interface {
	URL(taskID string, index int) string
}

// EpochLinks is a LinkBuilder whose links are a pure function of the task,
// the index and an epoch that moves on with time (results.Signer: the
// expiry bucket, a minute, or a second for links that live under a minute). With one, the server reuses a task's encoded
// answer while the task and the epoch are unchanged (Options.Answers);
// with a plain LinkBuilder, whose links may change at any call, every
// answer is built afresh.
type EpochLinks interface {
	LinkBuilder
	// Epoch is the epoch of links made now.
	Epoch() int64
	// URLAt is the link of result index of taskID in epoch.
	URLAt(taskID string, index int, epoch int64) string
}

// Options are a Server's dependencies; zero values get working defaults
// except Links, which NewHandler requires (a Server used without it answers
// result calls with a 500 {"message"} instead of links).
type Options struct {
	// Links builds result URLs.
	Links LinkBuilder
	// Notify is called after a task is created, so idle workers wake.
	Notify func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID returns a fresh task id, a UUIDv4; nil means uuid.NewRandom.
	NewID func() (string, error)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// MaxPendingPerKey bounds the unfinished tasks of one key: a create
	// beyond it is answered 429 with Retry-After (0 = no limit).
	MaxPendingPerKey int
	// MaxPending bounds the unfinished tasks of all keys: a create beyond
	// it is answered 503 with Retry-After (0 = no limit).
	MaxPending int
	// Admit, when set, is asked before each create; an error refuses the
	// create with 503, Retry-After and the error's text (e.g. a disk that
	// is nearly full).
	Admit func(ctx context.Context) error
	// Answers is how many encoded result-call answers are kept for reuse
	// while every input of the answer is unchanged (0 = DefaultAnswers,
	// negative = off: every answer is encoded afresh).
	Answers int
}

// DiskRetryAfter is the Retry-After of a create refused by Options.Admit.
const DiskRetryAfter = 30 * time.Second

// AdmissionRetryAfter is the Retry-After of a create refused at a pending
// limit: unfinished tasks take about this long to make room.
const AdmissionRetryAfter = 5 * time.Second

// Server implements the vendor's operations on a store.
type Server struct {
	st    store.Store
	links LinkBuilder
	// epochLinks is links when it is an EpochLinks (nil otherwise), found
	// once in New rather than on every poll.
	epochLinks EpochLinks
	notify     func()
	now        func() time.Time
	newID      func() (string, error)
	log        *slog.Logger
	limits     store.CreateLimits
	admit      func(ctx context.Context) error
	// answers holds recently sent 200 answers of the result call (nil:
	// every answer is encoded afresh).
	answers *answers
}

var _ generated.StrictServerInterface = (*Server)(nil)

// Defaults the server applies to a create request. The validator writes the
// schema's plain defaults into the body already; voice sits inside anyOf,
// where it does not, and the server must not depend on the validator anyway.
const (
	DefaultVoice        = "leo"
	DefaultTemperature  = 0.8
	DefaultExaggeration = 0.5
	DefaultCfgWeight    = 0.5
)

// New returns a Server over st.
func New(st store.Store, opts Options) *Server {
	s := &Server{st: st, links: opts.Links, notify: opts.Notify, now: opts.Now, newID: opts.NewID, log: opts.Logger,
		limits: store.CreateLimits{PerOwner: max(opts.MaxPendingPerKey, 0), Total: max(opts.MaxPending, 0)}, admit: opts.Admit,
		answers: newAnswers(opts.Answers)}
	s.epochLinks, _ = opts.Links.(EpochLinks)
	if s.notify == nil {
		s.notify = func() {}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() (string, error) {
			u, err := uuid.NewRandom()
			return u.String(), err
		}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

func owner(ctx context.Context) (string, error) {
	o, ok := auth.Owner(ctx)
	if !ok {
		// The auth middleware always sets an owner; reaching here means the
		// handler was mounted without it.
		return "", &Error{Code: apierr.CodeUnauthorized, Message: auth.ErrMissingKey.Error()}
	}
	return o, nil
}

func badCreate(msg string) generated.AsyncSpeechCreate400JSONResponse {
	return generated.AsyncSpeechCreate400JSONResponse{Message: msg}
}

// AsyncSpeechCreate accepts a task: it applies the defaults, stores the
// task as CREATED and returns its id.
func (s *Server) AsyncSpeechCreate(ctx context.Context, req generated.AsyncSpeechCreateRequestObject) (generated.AsyncSpeechCreateResponseObject, error) {
	own, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	if b == nil {
		return badCreate("request body is required"), nil
	}
	// The validator has checked all of this already; the server checks the
	// rules it relies on again so it stays correct when mounted without it.
	if !b.Model.Valid() {
		return badCreate(fmt.Sprintf("model: value is not one of the allowed values [%q]", generated.AsyncSpeechCreateJSONBodyModelChatterbox)), nil
	}
	if n := utf8.RuneCountInString(b.Input); n < 2 || n > 4096 {
		return badCreate("input: length must be between 2 and 4096 characters"), nil
	}
	p := task.Params{
		Input:        b.Input,
		Voice:        DefaultVoice,
		Temperature:  DefaultTemperature,
		Exaggeration: DefaultExaggeration,
		CfgWeight:    DefaultCfgWeight,
	}
	for _, f := range []struct {
		name string
		in   *float64
		out  *float64
	}{{"temperature", b.Temperature, &p.Temperature}, {"exaggeration", b.Exaggeration, &p.Exaggeration}, {"cfg_weight", b.CfgWeight, &p.CfgWeight}} {
		if f.in == nil {
			continue
		}
		if *f.in < 0 || *f.in > 1 {
			return badCreate(f.name + ": number must be between 0 and 1"), nil
		}
		*f.out = *f.in
	}
	if b.Stream != nil {
		// Accepted for compatibility; an async task has nothing to stream.
		p.Stream = *b.Stream
	}
	if b.Voice != nil {
		v, err := b.Voice.AsAsyncSpeechCreateJSONBodyVoice1()
		if err != nil {
			return badCreate("voice: value must be a string"), nil
		}
		if !generated.AsyncSpeechCreateJSONBodyVoice0(v).Valid() {
			// Any other string names an uploaded voice file (file_id), and
			// this server has no voice files.
			return generated.AsyncSpeechCreate404JSONResponse{Message: fmt.Sprintf("voice %q not found: it is neither leo nor nora, and no uploaded voice file has this file_id", truncate(v, 64))}, nil
		}
		p.Voice = v
	}
	if s.admit != nil {
		if err := s.admit(ctx); err != nil {
			return nil, &Error{Code: apierr.CodeUnavailable, RetryAfter: DiskRetryAfter, Message: err.Error(), Err: err}
		}
	}
	id, err := s.newID()
	if err != nil {
		return nil, &Error{Code: apierr.CodeUnavailable, Message: "could not accept the task; try again", Err: fmt.Errorf("new task id: %w", err)}
	}
	t := task.Task{ID: id, Owner: own, Model: string(b.Model), Params: p, Status: task.StatusCreated, Created: s.now()}
	// The limits are checked atomically with the insert: what is refused
	// is never stored, and what is accepted is never dropped.
	switch err := s.st.CreateWithin(ctx, t, s.limits); {
	case errors.Is(err, store.ErrOwnerBusy):
		return nil, &Error{Code: apierr.CodeRateLimited, RetryAfter: AdmissionRetryAfter, Err: err,
			Message: fmt.Sprintf("this API key has %d unfinished tasks, the most the server allows (--max-pending-per-key); retry when some have finished", s.limits.PerOwner)}
	case errors.Is(err, store.ErrBacklogFull):
		return nil, &Error{Code: apierr.CodeUnavailable, RetryAfter: AdmissionRetryAfter, Err: err,
			Message: fmt.Sprintf("the server holds %d unfinished tasks, the most it allows (--max-pending); retry when some have finished", s.limits.Total)}
	case err != nil:
		return nil, &Error{Code: apierr.CodeUnavailable, Message: "could not accept the task; try again", Err: fmt.Errorf("store task %s: %w", id, err)}
	}
	s.notify()
	return generated.AsyncSpeechCreate200JSONResponse{Id: id}, nil
}

// AsyncSpeechResult returns the status and results of a task of the caller.
// Another owner's task answers exactly like an unknown id. A 200 comes as
// a response object of this package holding the encoded answer (reused
// while the task and its link epoch are unchanged), whose Visit writes the
// same header, status and bytes as generated.AsyncSpeechResult200JSONResponse;
// a caller that type-switches on the generated 200 type will not see it.
func (s *Server) AsyncSpeechResult(ctx context.Context, req generated.AsyncSpeechResultRequestObject) (generated.AsyncSpeechResultResponseObject, error) {
	own, err := owner(ctx)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, &Error{Code: apierr.CodeBadRequest, Message: "request body is required"}
	}
	// Ids are handed out in lowercase; the pattern also admits uppercase.
	id := strings.ToLower(req.Body.Id)
	if !validTaskID(id) {
		return nil, &Error{Code: apierr.CodeBadRequest, Message: "id: must be a UUID version 4"}
	}
	t, err := s.st.Get(ctx, id, own)
	if errors.Is(err, store.ErrNotFound) {
		return generated.AsyncSpeechResult404JSONResponse{Message: fmt.Sprintf("task %s not found", id)}, nil
	}
	if err != nil {
		// The same answer as a store failure on create: the store is
		// unavailable, and the client may retry.
		return nil, &Error{Code: apierr.CodeUnavailable, Message: "could not read the task; try again", Err: fmt.Errorf("get task %s: %w", id, err)}
	}
	if s.links == nil {
		return nil, &Error{Code: apierr.CodeInternal, Message: "internal error", Err: errors.New("server: Server has no result link builder (Options.Links)")}
	}
	k := answerInputs{id: t.ID, status: t.Status, created: UnixSeconds(t.Created), model: t.Model}
	if !t.Finished.IsZero() {
		k.finished, k.done = UnixSeconds(t.Finished), true
	}
	el := s.epochLinks
	reuse := el != nil
	if reuse {
		k.epoch = el.Epoch()
		if a := s.answers.get(&k, t.Results); a != nil {
			return a, nil
		}
	}
	resp := generated.AsyncSpeechResult200JSONResponse{
		Id:      k.id,
		Status:  generated.AsyncSpeechResult200JSONResponseBodyStatus(k.status),
		Created: k.created,
		Model:   k.model,
		// Never nil: a nil slice encodes as null, which the schema refuses.
		Results: make([]generated.AsyncSpeechResult200JSONResponseBody_Results, 0, len(t.Results)),
	}
	if k.done {
		resp.Finished = &k.finished
	}
	for _, r := range t.Results {
		var u string
		if reuse {
			u = el.URLAt(t.ID, r.Index, k.epoch)
		} else {
			u = s.links.URL(t.ID, r.Index)
		}
		resp.Results = append(resp.Results, generated.AsyncSpeechResult200JSONResponseBody_Results{Url: &u})
	}
	if !reuse || s.answers == nil {
		return resp, nil
	}
	body, err := encodeAnswer(resp)
	if err != nil {
		return nil, &Error{Code: apierr.CodeInternal, Message: "internal error", Err: err}
	}
	a := &answer{answerInputs: k, body: body}
	for _, r := range t.Results {
		a.indices = append(a.indices, r.Index)
	}
	s.answers.put(a)
	return a, nil
}

// UnixSeconds is how the API writes a time: Unix seconds as a float64 with
// a millisecond fraction.
func UnixSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// validTaskID reports whether id, already lowercased, is a UUID version 4
// in the spec's form (8-4-4-4-12 hex, version nibble 4, variant 8/9/a/b).
func validTaskID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		}
		if !isHex(c) {
			return false
		}
	}
	return id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b')
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
