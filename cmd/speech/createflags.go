package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"

	"github.com/distributeai/asyncspeech/api/client"
)

// createFlags are the create parameters `speech create` and `speech say`
// share. A sampling parameter left unset is not sent, so the server's
// default applies.
type createFlags struct {
	voice, model string
	stream       bool
	temperature  *float64
	exaggeration *float64
	cfgWeight    *float64
}

// addCreateFlags registers every create parameter on fs.
func addCreateFlags(fs *flag.FlagSet) *createFlags {
	c := &createFlags{}
	fs.StringVar(&c.voice, "voice", "", "voice: leo, nora or an uploaded voice's file_id (default: the server's, leo)")
	fs.StringVar(&c.model, "model", string(client.ModelChatterbox), "model")
	fs.BoolVar(&c.stream, "stream", false, "ask the server for streaming output")
	unit := func(name, usage string, dst **float64) {
		fs.Func(name, usage+" (0–1; default: the server's)", func(s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
				return fmt.Errorf("want a number from 0 to 1, got %q", s)
			}
			*dst = &v
			return nil
		})
	}
	unit("temperature", "sampling temperature: pitch variation (server default 0.8)", &c.temperature)
	unit("exaggeration", "emotional exaggeration: emphasis and loudness (server default 0.5)", &c.exaggeration)
	unit("cfg-weight", "classifier-free guidance weight: lower is slower, more deliberate (server default 0.5)", &c.cfgWeight)
	return c
}

// params is the create request for text.
func (c *createFlags) params(text string) client.CreateParams {
	return client.CreateParams{
		Input: text, Voice: c.voice, Model: client.Model(c.model), Stream: c.stream,
		Temperature: c.temperature, Exaggeration: c.exaggeration, CfgWeight: c.cfgWeight,
	}
}
