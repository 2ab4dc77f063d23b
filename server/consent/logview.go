package consent

import (
	"context"
	"time"
)

// LogEntry is one request to a pod as the access page shows it: one
// entry of the pod's access log (issue 17).
type LogEntry struct {
	// ID is the entry's stable IRI.
	ID   string
	Time time.Time
	// Agent is the WebID, "" for an anonymous request.
	Agent    string
	Client   string
	Issuer   string
	Resource string // the IRI requested
	Method   string
	// Mode is what the request needed: "Read", "Append", "Write",
	// "Control", or "" when unknown.
	Mode   string
	Status int
	// Authorization is the IRI of the ACL authorization that allowed
	// the request, "" when none did.
	Authorization string
	// Grant is the IRI of the access grant that allowed the request,
	// "" when none did; Purposes are that grant's purposes.
	Grant    string
	Purposes []string
}

// LogQuery selects entries of a pod's access log, newest first.
type LogQuery struct {
	Agent    string    // only this WebID ("" any)
	Resource string    // only this IRI or the resources under it ("" any)
	From, To time.Time // only entries in [From, To) (zero: unbounded)
	Cursor   string    // where the previous page ended ("" the newest)
	Limit    int       // at most this many (the log bounds it)
}

// AccessLog reads a pod's access log for the access page; storage is
// the pod's root IRI. next is the cursor of the following page, "" at
// the end.
type AccessLog interface {
	Read(ctx context.Context, storage string, q LogQuery) (entries []LogEntry, next string, err error)
}
