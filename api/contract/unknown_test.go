package contract_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A server on a newer contract reports a status the suite does not know:
// every check that sees it must name it. (Not CANCELLED: the regeneration
// rehearsal's next contract adds that one.)
func TestUnknownStatusIsNamed(t *testing.T) {
	f := newFakeServer(t, fakeFaults{newStatus: "NOT_A_STATUS"}, keyA, keyB)
	opts := fastOptions()
	opts.PollTimeout = 100 * time.Millisecond
	rep := runSuite(t, f.URL, opts)
	want := map[string]string{
		"conformance.schema": `(got "NOT_A_STATUS")`,
		"lifecycle.terminal": `"NOT_A_STATUS" is not one of the seven statuses, so the suite cannot tell whether it is terminal`,
		"lifecycle.order":    `status "NOT_A_STATUS" is not one of the seven statuses`,
	}
	failed := rep.Failed()
	for name, text := range want {
		if !slices.Contains(failed, name) {
			t.Errorf("%s did not fail (failed: %v)\n%s", name, failed, textOf(t, rep))
			continue
		}
		if msgs := strings.Join(rep.Check(name).Messages, "\n"); !strings.Contains(msgs, text) {
			t.Errorf("messages of %s: got %q, want them to say %q", name, msgs, text)
		}
	}
}
