package accesslog

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestSegmentEncode: the segment's own encoding is byte for byte what
// encoding/json writes, quotes and all.
func TestSegmentEncode(t *testing.T) {
	e1, _ := json.Marshal(record{T: 1, Agent: `https://a.example/"x"<y>`, Resource: "https://pod.example/r", Method: "GET", Status: 200, Purposes: []string{"p"}})
	e2, _ := json.Marshal(record{T: 2, Resource: "https://pod.example/é\u2028", Method: "PUT", Status: 403, Prev: "abc"})
	for _, s := range []segment{
		{V: 1, Pod: "alice", Process: "0123", Seq: 7, Entries: []json.RawMessage{e1, e2}, Head: "h", KeyID: "k<&>", Sig: "s"},
		{V: 1, Pod: "bob", Process: "ff", Seq: 1, Entries: []json.RawMessage{e1}},
	} {
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encode:\n%s\nwant\n%s", got, want)
		}
	}
}
