package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// legacyTickets let the legacy solid-0.1 WebSocket tell a person of
// changes to what they may read, not only to what everyone may.
//
// The protocol has no authentication, and a browser's WebSocket carries
// no Authorization header; SolidOS opens the URL that a resource's
// Updates-Via header names. So the answer to an authenticated request
// names the WebSocket with a ticket in its query: the agent (WebID,
// client, issuer) and an expiry, sealed with an HMAC. A connection with a
// valid ticket hears of changes to resources that agent may read, from
// the connection's Origin, asked anew at each delivery; once the ticket
// expires, or without one, only of what the anonymous agent may read.
//
// Who holds the ticket learns when resources the agent may read change,
// and nothing else; it comes only in answers to that agent's own
// authenticated requests, which shared caches do not keep. Tickets are
// valid for a day and stay the same within an hour, so that a page that
// reads many documents opens few distinct URLs. With the server's secret
// key (KLUIS_SECRET_KEY) every process of a storage accepts the others'
// tickets; without it, the key is the process's own, and a connection to
// another process is anonymous.
type legacyTickets struct {
	key []byte
	now func() time.Time
}

// legacyTicketTTL is how long a ticket is valid, at least.
const legacyTicketTTL = 24 * time.Hour

// newLegacyTickets derives the ticket key from the server's secret, or
// makes one for this process when there is none.
func newLegacyTickets(secret []byte) *legacyTickets {
	var key []byte
	if len(secret) > 0 {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("kluis legacy websocket tickets"))
		key = m.Sum(nil)
	} else {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &legacyTickets{key: key, now: time.Now}
}

// ticket is what a ticket seals.
type ticket struct {
	WebID    string `json:"w"`
	ClientID string `json:"c,omitempty"`
	Issuer   string `json:"i,omitempty"`
	Expires  int64  `json:"e"`
}

// issue returns the ticket of agent, valid from now for a day to a day
// and an hour.
func (t *legacyTickets) issue(agent Agent) string {
	exp := t.now().Add(legacyTicketTTL).Truncate(time.Hour).Add(time.Hour)
	payload, _ := json.Marshal(ticket{WebID: agent.WebID, ClientID: agent.ClientID, Issuer: agent.Issuer, Expires: exp.Unix()})
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.sign(p))
}

func (t *legacyTickets) sign(payload string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// maxTicket bounds the ticket read from a query: a WebID, a client id and
// an issuer of at most 2 KB each.
const maxTicket = 8 << 10

// agent opens a ticket: its agent, and until when it holds; ok is false
// when it is not one of ours, or expired.
func (t *legacyTickets) agent(s string) (a Agent, until time.Time, ok bool) {
	if s == "" || len(s) > maxTicket {
		return Agent{}, time.Time{}, false
	}
	p, sig, found := strings.Cut(s, ".")
	if !found {
		return Agent{}, time.Time{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.sign(p)) {
		return Agent{}, time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Agent{}, time.Time{}, false
	}
	var tk ticket
	if err := json.Unmarshal(payload, &tk); err != nil || tk.WebID == "" {
		return Agent{}, time.Time{}, false
	}
	until = time.Unix(tk.Expires, 0)
	if !t.now().Before(until) {
		return Agent{}, time.Time{}, false
	}
	return Agent{WebID: tk.WebID, ClientID: tk.ClientID, Issuer: tk.Issuer}, until, true
}

// url is the Updates-Via of an answer to agent: base, with agent's ticket
// when agent is not anonymous.
func (t *legacyTickets) url(base string, agent Agent) string {
	if agent.Anonymous() || base == "" {
		return base
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "ticket=" + t.issue(agent)
}
