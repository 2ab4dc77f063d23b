package notify

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/weconomics/kluis/ldp"
)

// The activity types of notifications (Solid Notifications Protocol §3.4,
// Activity Streams 2.0 vocabulary).
const (
	TypeCreate = "Create"
	TypeUpdate = "Update"
	TypeDelete = "Delete"
	TypeAdd    = "Add"
	TypeRemove = "Remove"
)

// Event is one notification, before it is written for a channel.
type Event struct {
	// ID identifies the notification, a urn:uuid.
	ID string
	// Type is one of the Type constants.
	Type string
	// Object is the IRI of the resource the activity is about.
	Object string
	// Target is the container of an Add or a Remove, "" otherwise.
	Target string
	// Topic is the resource whose subscribers hear of the event: Object
	// for Create, Update and Delete, Target for Add and Remove.
	Topic string
	// State is the topic resource's new ETag when known (the state
	// feature), "" otherwise.
	State string
	// Published is when the change happened.
	Published time.Time
}

// Activities are the events of one change: the activity on the resource,
// and an Add or a Remove on its container when the containment changed
// (Solid Notifications Protocol §3.4, "An add activity"). iri makes the
// absolute IRI of a path.
func Activities(c ldp.Change, iri func(ldp.Path) string) []Event {
	object := iri(c.Path)
	out := []Event{{ID: newID(), Type: c.Type.String(), Object: object, Topic: object, State: c.ETag, Published: c.Time}}
	if c.Container != "" {
		t := TypeAdd
		if c.Type == ldp.Delete {
			t = TypeRemove
		}
		target := iri(c.Container)
		out = append(out, Event{ID: newID(), Type: t, Object: object, Target: target, Topic: target, Published: c.Time})
	}
	return out
}

// The JSON-LD contexts of notifications. Kluis writes ContextNotification,
// the context the channel type specifications and the Community Solid
// Server use; the protocol's 0.3 report names ContextNotifications, which
// subscription requests may use too.
const (
	ContextActivityStreams = "https://www.w3.org/ns/activitystreams"
	ContextNotification    = "https://www.w3.org/ns/solid/notification/v1"
	ContextNotifications   = "https://www.w3.org/ns/solid/notifications-context/v1"
)

// message is the JSON-LD form of a notification.
type message struct {
	Context   []string `json:"@context"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Object    string   `json:"object"`
	Target    string   `json:"target,omitempty"`
	State     string   `json:"state,omitempty"`
	Published string   `json:"published"`
}

// JSON is the notification as JSON-LD (Solid Notifications Protocol §3.4
// "Notification Message": id, type, object, target, state, published).
func (e Event) JSON() []byte {
	b, err := json.Marshal(message{
		Context: []string{ContextActivityStreams, ContextNotification},
		ID:      e.ID, Type: e.Type, Object: e.Object, Target: e.Target, State: e.State,
		Published: e.Published.UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}

// newID returns a random (version 4) urn:uuid.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
