package contract

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	asyncspeech "github.com/distributeai/asyncspeech"
)

func createSchema(t *testing.T) *operation {
	t.Helper()
	spec, err := loadSpec(context.Background())
	if err != nil {
		t.Fatalf("loadSpec: %v", err)
	}
	return spec.ops[asyncspeech.OperationCreate]
}

func TestGeneratedExamplesAreValidOrInvalidAsLabelled(t *testing.T) {
	op := createSchema(t)
	exs, err := generateExamples(op.body, 7, 400)
	if err != nil {
		t.Fatalf("generateExamples: %v", err)
	}
	if len(exs) != 400 {
		t.Fatalf("got %d examples, want 400", len(exs))
	}
	invalid := 0
	for _, ex := range exs {
		err := validateRequestValue(op.body, ex.value)
		switch {
		case ex.valid && err != nil:
			t.Errorf("example #%d labelled valid is invalid: %v (%s)", ex.n, err, summarize(ex.value))
		case !ex.valid && err == nil:
			t.Errorf("example #%d labelled invalid (%s) is valid: %s", ex.n, ex.rule, summarize(ex.value))
		case !ex.valid:
			invalid++
			if ex.rule == "" {
				t.Errorf("example #%d: invalid without a rule", ex.n)
			}
		}
	}
	if invalid != 100 {
		t.Errorf("got %d invalid examples, want 100 (every fourth)", invalid)
	}
}

func TestSameSeedSameExamples(t *testing.T) {
	op := createSchema(t)
	a, errA := generateExamples(op.body, 42, 120)
	b, errB := generateExamples(op.body, 42, 120)
	c, errC := generateExamples(op.body, 43, 120)
	if errA != nil || errB != nil || errC != nil {
		t.Fatalf("generateExamples: %v %v %v", errA, errB, errC)
	}
	body := func(exs []generated) []string {
		var out []string
		for _, ex := range exs {
			out = append(out, string(mustJSON(ex.value)))
		}
		return out
	}
	if !reflect.DeepEqual(body(a), body(b)) {
		t.Errorf("seed 42 twice: the bodies differ")
	}
	if reflect.DeepEqual(body(a), body(c)) {
		t.Errorf("seeds 42 and 43: the same bodies, want different ones")
	}
}

// The corners are covered whatever the seed: every optional field, every
// enum value, the length bounds in multi-byte characters, escapes, the
// number bounds and one step inside them, each voice with each extreme.
func TestGeneratedExamplesCoverTheCorners(t *testing.T) {
	op := createSchema(t)
	for _, seed := range []uint64{1, 2, 99, 123456789} {
		exs, err := generateExamples(op.body, seed, 200)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		seen := map[string]bool{}
		for _, ex := range exs {
			if !ex.valid {
				seen["rule "+ex.rule] = true
				continue
			}
			for k, v := range ex.value {
				seen["field "+k] = true
				if s, ok := v.(string); ok {
					n := utf8.RuneCountInString(s)
					multi := len(s) >= 2*n
					if k == "input" && n == 4096 && multi {
						seen["input 4096 multi-byte"] = true
					}
					if k == "input" && n == 2 && multi {
						seen["input 2 multi-byte"] = true
					}
					if strings.ContainsAny(s, "\"\\\n") {
						seen["escapes"] = true
					}
					if k == "voice" {
						seen["voice "+s] = true
					}
				}
			}
			if ex.value["voice"] == "nora" {
				if f, ok := ex.value["temperature"].(float64); ok && f < 0.1 {
					seen["nora cold"] = true
				}
			}
			for _, k := range []string{"temperature", "exaggeration", "cfg_weight"} {
				switch ex.value[k] {
				case 0.0:
					seen[k+" min"] = true
				case 0.001:
					seen[k+" near min"] = true
				case 0.999:
					seen[k+" near max"] = true
				case 1.0:
					seen[k+" max"] = true
				}
			}
		}
		for _, want := range []string{
			"field model", "field input", "field voice", "field stream", "field temperature", "field exaggeration", "field cfg_weight",
			"voice leo", "voice nora", "input 4096 multi-byte", "input 2 multi-byte", "escapes", "nora cold",
			"temperature min", "temperature near min", "temperature near max", "temperature max",
			"cfg_weight min", "exaggeration max",
			"rule input.maxLength", "rule model.required",
		} {
			if !seen[want] {
				t.Errorf("seed %d: no example with %s", seed, want)
			}
		}
	}
}

func TestSimplerKeepsValidity(t *testing.T) {
	op := createSchema(t)
	v := map[string]any{"model": "Chatterbox", "input": "héllo wörld", "voice": "nora", "temperature": 0.05, "stream": true}
	cands := simpler(op.body, v, true, "")
	if len(cands) == 0 {
		t.Fatal("no simpler candidates")
	}
	for _, c := range cands {
		if err := validateRequestValue(op.body, c); err != nil {
			t.Errorf("candidate %s is invalid: %v", summarize(c), err)
		}
	}
	if _, ok := cands[0]["stream"]; ok && len(cands[0]) == len(v) {
		t.Errorf("first candidate %s removes no optional field", summarize(cands[0]))
	}
	bad := map[string]any{"model": "Chatterbox", "input": "x", "voice": "nora"}
	for _, c := range simpler(op.body, bad, false, "input") {
		if c["input"] != "x" {
			t.Errorf("invalid candidate %s changed the broken field", summarize(c))
		}
		if validateRequestValue(op.body, c) == nil {
			t.Errorf("invalid candidate %s is valid", summarize(c))
		}
	}
}

func TestCurlCommand(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("authorization", "secret-key")
	body := []byte(`{"input":"it's \"é\"\n","model":"Chatterbox"}`)
	got := curlCommand("POST", "http://h/async/speech/create", h, body, map[string]string{"secret-key": EnvAPIKey})
	if strings.Contains(got, "secret-key") {
		t.Fatalf("curl line leaks the key: %s", got)
	}
	want := `curl -sS -X POST 'http://h/async/speech/create' -H "authorization: $DISTRIBUTE_API_KEY" -H 'content-type: application/json' --data-binary '{"input":"it'\''s \"é\"\n","model":"Chatterbox"}'`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	big := []byte(`{"input":"` + strings.Repeat("a", 2<<20) + `"}`)
	long := curlCommand("POST", "http://h/x", nil, big, nil)
	if len(long) > 300 || !strings.Contains(long, "head -c 2097152") {
		t.Errorf("long body: got %d bytes %q, want a short pipe", len(long), long[:min(len(long), 300)])
	}
	// The shell must turn the line back into the exact body.
	if _, err := exec.LookPath("sh"); err == nil {
		for _, b := range [][]byte{body, big} {
			line := curlCommand("POST", "http://h/x", nil, b, nil)
			line = strings.Replace(line, "| curl -sS -X POST 'http://h/x' --data-binary @-", "| cat", 1)
			line = strings.Replace(line, "curl -sS -X POST 'http://h/x' --data-binary", "printf '%s'", 1)
			out, err := exec.Command("sh", "-c", line).Output()
			if err != nil {
				t.Fatalf("sh -c %.200q: %v", line, err)
			}
			if string(out) != string(b) {
				t.Errorf("shell gave back %d bytes, want the %d-byte body", len(out), len(b))
			}
		}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("test body is not JSON: %v", err)
	}
}
