package client

import "encoding/json"

// knownFields are the fields of the result call's answer that Task models.
// Any other field goes to Task.Extra, so a field the vendor adds before this
// module is regenerated reaches programs instead of vanishing.
var knownFields = [...]string{"id", "status", "model", "created", "finished", "results"}

// extraFields returns the top-level fields of a result answer that Task
// does not model, or nil when there are none (or body is not an object,
// which the caller has already decoded successfully as one).
func extraFields(body []byte) map[string]json.RawMessage {
	var all map[string]json.RawMessage
	if json.Unmarshal(body, &all) != nil {
		return nil
	}
	for _, k := range knownFields {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

// KnownStatus reports whether s is one of the seven statuses of the
// lifecycle this module implements (package task). A server on a newer
// contract may report others; Wait keeps polling through them (it cannot
// know whether they are final) and passes them to the status callback like
// any other.
func KnownStatus(s Status) bool { return s.Valid() }

// marshalWithExtra marshals a task's JSON form v and, when there are extra
// fields, adds them under "extra", so Task's JSON keeps what the server
// sent that the client does not model.
func marshalWithExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	e, err := json.Marshal(extra)
	if err != nil {
		return nil, err
	}
	// b is a JSON object with at least one field: replace its closing
	// brace with the extra field.
	return append(append(b[:len(b)-1], `,"extra":`...), append(e, '}')...), nil
}

// unknownNote is added after a status in messages when the status is not
// one this client knows.
func unknownNote(s Status) string {
	if KnownStatus(s) {
		return ""
	}
	return ", a status this client does not know"
}
