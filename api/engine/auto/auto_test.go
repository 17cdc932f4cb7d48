package auto

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/distributeai/asyncspeech/api/engine"
	"github.com/distributeai/asyncspeech/api/engine/festival"
)

// machine is a fake set of installed programs and festival voices: real
// executable files (so each engine's New finds them) and voice directories.
type machine struct {
	dir    string
	bins   map[string]string
	voices string
}

func newMachine(t *testing.T, programs []string, festivalVoices []string) machine {
	t.Helper()
	m := machine{dir: t.TempDir(), bins: map[string]string{}}
	for _, p := range programs {
		path := filepath.Join(m.dir, p)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		m.bins[p] = path
	}
	m.voices = filepath.Join(m.dir, "voices")
	for _, v := range festivalVoices {
		if err := os.MkdirAll(filepath.Join(m.voices, "any", v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m machine) options() Options {
	o := Options{LookPath: func(file string) (string, error) {
		if p, ok := m.bins[file]; ok {
			return p, nil
		}
		return "", errors.New("executable file not found in $PATH")
	}}
	o.Festival.VoicesDir = m.voices
	return o
}

var (
	allPrograms = []string{"flite", "festival", "espeak-ng"}
	allVoices   = []string{"cmu_us_slt_arctic_hts", "kal_diphone"}
)

func TestResolveAuto(t *testing.T) {
	tests := []struct {
		name     string
		programs []string
		voices   []string
		want     map[string]string
		wantName string
		degraded bool
	}{
		{"everything installed", allPrograms, allVoices, map[string]string{"leo": Festival, "nora": Festival}, "festival", false},
		{"no flite", []string{"festival", "espeak-ng"}, allVoices, map[string]string{"leo": Festival, "nora": Festival}, "festival", false},
		{"no festival", []string{"flite", "espeak-ng"}, nil, map[string]string{"leo": Flite, "nora": Flite}, "flite", false},
		{"festival without the HTS voice", allPrograms, []string{"kal_diphone"}, map[string]string{"leo": Flite, "nora": Flite}, "flite", false},
		{"festival with only the HTS voice", []string{"festival", "espeak-ng"}, []string{"cmu_us_slt_arctic_hts"}, map[string]string{"leo": Festival, "nora": Festival}, "festival", false},
		{"festival with only kal, no flite", []string{"festival", "espeak-ng"}, []string{"kal_diphone"}, map[string]string{"leo": Festival, "nora": Espeak}, "festival+espeak", true},
		{"HTS voice installed but no festival program", []string{"flite", "espeak-ng"}, allVoices, map[string]string{"leo": Flite, "nora": Flite}, "flite", false},
		{"espeak only", []string{"espeak-ng"}, nil, map[string]string{"leo": Espeak, "nora": Espeak}, "espeak", true},
		{"nothing", nil, nil, map[string]string{"leo": Tone, "nora": Tone}, "tone", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t, tc.programs, tc.voices)
			c, err := Resolve("auto", m.options())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !maps.Equal(c.Voices, tc.want) || c.Name != tc.wantName || c.Degraded != tc.degraded {
				t.Errorf("got %v %q degraded=%v, want %v %q degraded=%v", c.Voices, c.Name, c.Degraded, tc.want, tc.wantName, tc.degraded)
			}
			if tc.degraded && !strings.Contains(c.Reason, "install flite") {
				t.Errorf("got reason %q, want it to say what to install", c.Reason)
			}
			e, err := New("auto", m.options())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if e.Name() != tc.wantName {
				t.Errorf("got engine %q, want %q", e.Name(), tc.wantName)
			}
		})
	}
}

func TestResolveExplicit(t *testing.T) {
	tests := []struct {
		name     string
		engine   string
		programs []string
		openai   string
		want     string // "" means an error is expected
		errText  string
	}{
		{name: "flite", engine: "flite", programs: allPrograms, want: "flite"},
		{name: "festival", engine: "festival", programs: allPrograms, want: "festival"},
		{name: "espeak even with better engines", engine: "espeak", programs: allPrograms, want: "espeak"},
		{name: "case and spaces ignored", engine: " Flite ", programs: allPrograms, want: "flite"},
		{name: "empty means auto", engine: "", programs: nil, want: "tone"},
		{name: "flite missing fails", engine: "flite", programs: []string{"espeak-ng"}, errText: "install the Debian package flite"},
		{name: "festival missing fails", engine: "festival", programs: []string{"flite"}, errText: "festvox-us-slt-hts"},
		{name: "espeak missing fails", engine: "espeak", programs: nil, errText: "espeak-ng"},
		{name: "tone even with programs", engine: "tone", programs: allPrograms, want: "tone"},
		{name: "openai", engine: "openai", openai: "http://127.0.0.1:8004", want: "openai"},
		{name: "openai without a base URL fails", engine: "openai", errText: "base URL"},
		{name: "unknown", engine: "piper", programs: allPrograms, errText: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t, tc.programs, allVoices)
			opts := m.options()
			opts.OpenAI.BaseURL = tc.openai
			e, err := New(tc.engine, opts)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("got %v, %v; want an error containing %q", e, err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.engine, err)
			}
			if got := e.Name(); got != tc.want {
				t.Errorf("got engine %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResolveUsesConfiguredBinary(t *testing.T) {
	var asked []string
	look := func(file string) (string, error) { asked = append(asked, file); return "/opt/bin/" + file, nil }
	opts := Options{LookPath: look}
	opts.Espeak.Binary = "espeak-ng-custom"
	c, err := Resolve("espeak", opts)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if len(asked) != 1 || asked[0] != "espeak-ng-custom" || c.Paths[Espeak] != "/opt/bin/espeak-ng-custom" {
		t.Errorf("got lookups %q and paths %v, want espeak-ng-custom at /opt/bin/espeak-ng-custom", asked, c.Paths)
	}
}

// recorder is a fake engine that records the voices it was asked for.
type recorder struct {
	name string
	got  []string
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Synthesize(_ context.Context, req engine.Request) (engine.Audio, error) {
	r.got = append(r.got, req.Voice)
	return engine.Audio{}, nil
}

func TestPerVoiceRoutes(t *testing.T) {
	leo, nora := &recorder{name: "a"}, &recorder{name: "b"}
	p := &perVoice{name: "a+b", byVoice: map[string]engine.Engine{"leo": leo, "nora": nora}}
	for _, v := range []string{"leo", "nora", "", "file-123"} {
		if _, err := p.Synthesize(context.Background(), engine.Request{Voice: v}); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(leo.got, ",") != "leo,,file-123" || strings.Join(nora.got, ",") != "nora" {
		t.Errorf("got leo's engine %q, nora's %q; want leo, default and uploaded on leo's, nora on nora's", leo.got, nora.got)
	}
}

// The start-up line says which festival voice each API voice gets, lowered
// or not.
func TestResolveReasonNamesFestivalRenderings(t *testing.T) {
	lowered := "leo=festival cmu_us_slt_arctic_hts lowered ×" + strconv.FormatFloat(festival.LeoLower, 'f', -1, 64)
	tests := []struct {
		name, engine string
		voices       []string
		want         []string
	}{
		{"auto, both voices", "auto", allVoices, []string{lowered, "nora=festival cmu_us_slt_arctic_hts"}},
		{"festival, both voices", "festival", allVoices, []string{lowered, "nora=festival cmu_us_slt_arctic_hts"}},
		{"festival, kal only", "festival", []string{"kal_diphone"}, []string{"leo=festival kal_diphone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Resolve(tc.engine, newMachine(t, []string{"festival"}, tc.voices).options())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(c.Reason, w) {
					t.Errorf("got reason %q, want it to contain %q", c.Reason, w)
				}
			}
		})
	}
}
