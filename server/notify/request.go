package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NS is the Solid Notifications vocabulary (notify:).
const NS = "http://www.w3.org/ns/solid/notifications#"

// ChannelType is a notification channel type, by its short name in the
// notifications JSON-LD context.
type ChannelType string

// The channel types Kluis serves.
const (
	WebSocket     ChannelType = "WebSocketChannel2023"
	Webhook       ChannelType = "WebhookChannel2023"
	StreamingHTTP ChannelType = "StreamingHTTPChannel2023"
)

// ChannelTypes are the channel types of the subscription services, in the
// order the storage description lists them.
var ChannelTypes = [...]ChannelType{WebSocket, StreamingHTTP, Webhook}

// IRI is the full IRI of the channel type.
func (t ChannelType) IRI() string { return NS + string(t) }

// Features are the features every subscription service of Kluis supports
// (Solid Notifications Protocol §2.3 "Features"), as notify: local names.
var Features = [...]string{"accept", "endAt", "rate", "startAt", "state"}

// Request is a subscription request, parsed (Solid Notifications Protocol
// §2.2 "Subscription", §3.3 "Notification Channel").
type Request struct {
	Type ChannelType
	// Topic is the IRI of the resource to hear about.
	Topic string
	// SendTo is where a webhook channel posts notifications.
	SendTo string
	// StartAt and EndAt bound when notifications are sent; zero for none.
	StartAt, EndAt time.Time
	// Rate is the least time between two notifications; zero for none.
	Rate time.Duration
	// State is the subscriber's last known state (ETag) of the topic: when
	// it is not the current one, a notification is sent at once.
	State string
	// Accept lists the media types the receiver accepts; "" for any.
	Accept string
}

// RequestError is a subscription request that cannot be processed: a
// body that is no JSON, an unrecognised JSON-LD context, an unknown
// channel type, a missing topic, a feature value of the wrong form
// (Solid Notifications Protocol §2.2: 422).
type RequestError struct {
	Reason string
}

func (e *RequestError) Error() string { return "notify: subscription request: " + e.Reason }

// knownContexts are the JSON-LD contexts a request may name. Their terms
// are known here; no context is ever fetched.
var knownContexts = map[string]bool{
	ContextNotification: true, ContextNotifications: true, ContextActivityStreams: true,
}

// maxRequestBytes bounds a subscription request.
const maxRequestBytes = 64 << 10

// ParseRequest reads a subscription request as plain JSON of the shapes
// the notifications context defines: "type" (or "@type") as a short name
// such as "WebSocketChannel2023", "notify:WebSocketChannel2023" or the full
// IRI; "topic" and "sendTo" as strings or {"id": ...} nodes; "startAt",
// "endAt" (xsd:dateTime), "rate" (xsd:duration), "state" and "accept" as
// strings. Anything else in the body is ignored.
func ParseRequest(data []byte) (Request, error) {
	if len(data) > maxRequestBytes {
		return Request{}, &RequestError{Reason: "larger than 64 KiB"}
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return Request{}, &RequestError{Reason: "not a JSON object"}
	}
	if raw, ok := doc["@context"]; ok {
		if err := checkContext(raw); err != nil {
			return Request{}, err
		}
	}
	var req Request
	typ, err := value(doc, "type", "@type")
	if err != nil {
		return Request{}, err
	}
	if req.Type, err = parseType(typ); err != nil {
		return Request{}, err
	}
	if req.Topic, err = value(doc, "topic"); err != nil {
		return Request{}, err
	}
	if req.Topic == "" {
		return Request{}, &RequestError{Reason: "no topic"}
	}
	if req.SendTo, err = value(doc, "sendTo"); err != nil {
		return Request{}, err
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"startAt", &req.StartAt}, {"endAt", &req.EndAt}} {
		v, err := value(doc, f.name)
		if err != nil {
			return Request{}, err
		}
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return Request{}, &RequestError{Reason: f.name + " is not an xsd:dateTime with a time zone"}
		}
		*f.dst = t
	}
	rate, err := value(doc, "rate")
	if err != nil {
		return Request{}, err
	}
	if rate != "" {
		if req.Rate, err = ParseDuration(rate); err != nil {
			return Request{}, &RequestError{Reason: "rate: " + err.Error()}
		}
	}
	if req.State, err = value(doc, "state"); err != nil {
		return Request{}, err
	}
	if req.Accept, err = value(doc, "accept"); err != nil {
		return Request{}, err
	}
	return req, nil
}

// checkContext accepts a context that is one of the known ones, or a list
// of them.
func checkContext(raw json.RawMessage) error {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return knownContext(one)
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return &RequestError{Reason: "unrecognised JSON-LD context"}
	}
	for _, c := range many {
		if err := knownContext(c); err != nil {
			return err
		}
	}
	return nil
}

func knownContext(c string) error {
	if !knownContexts[c] {
		return &RequestError{Reason: fmt.Sprintf("unrecognised JSON-LD context %q", c)}
	}
	return nil
}

// value reads a property, under the first of its names present, as a
// string: a JSON string, a node {"id"} or {"@id"}, a value {"@value"}, or
// a list of exactly one of those. "" when absent.
func value(doc map[string]json.RawMessage, names ...string) (string, error) {
	for _, n := range names {
		raw, ok := doc[n]
		if !ok {
			continue
		}
		v, ok := scalar(raw)
		if !ok {
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
				v, ok = scalar(list[0])
			}
		}
		if !ok {
			return "", &RequestError{Reason: n + " must be one string"}
		}
		return v, nil
	}
	return "", nil
}

func scalar(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var node map[string]json.RawMessage
	if json.Unmarshal(raw, &node) != nil {
		return "", false
	}
	for _, k := range []string{"id", "@id", "@value"} {
		if v, ok := node[k]; ok && json.Unmarshal(v, &s) == nil {
			return s, true
		}
	}
	return "", false
}

// parseType accepts a channel type by its short name, as notify:Name, or by
// its full IRI.
func parseType(v string) (ChannelType, error) {
	name := v
	for _, prefix := range []string{NS, "notify:", "http://www.w3.org/ns/solid/notification#"} {
		if rest, ok := strings.CutPrefix(v, prefix); ok {
			name = rest
			break
		}
	}
	for _, t := range ChannelTypes {
		if name == string(t) {
			return t, nil
		}
	}
	if v == "" {
		return "", &RequestError{Reason: "no channel type"}
	}
	return "", &RequestError{Reason: fmt.Sprintf("unknown channel type %q", v)}
}

// errDuration is a malformed xsd:duration.
var errDuration = errors.New("not an xsd:duration of days, hours, minutes and seconds (PT10S)")

// ParseDuration reads an xsd:duration without years or months, such as
// "PT10S", "PT1M30S" or "P1DT2H".
func ParseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, errDuration
	}
	var d time.Duration
	inTime := false
	units := map[bool]map[byte]time.Duration{
		false: {'D': 24 * time.Hour, 'W': 7 * 24 * time.Hour},
		true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
	}
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return 0, errDuration
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, errDuration
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		unit, ok := units[inTime][rest[i]]
		if err != nil || !ok || n > 1e9 {
			return 0, errDuration
		}
		d += time.Duration(n * float64(unit))
		rest = rest[i+1:]
	}
	return d, nil
}

// FormatDuration writes d as an xsd:duration in seconds, "PT10S".
func FormatDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}
