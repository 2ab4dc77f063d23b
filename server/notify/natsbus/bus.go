package natsbus

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/weconomics/kluis/server/notify"
)

// DefaultPrefix is the subject prefix of Config.Prefix's zero value.
const DefaultPrefix = "kluis"

// Config sets up a Bus.
type Config struct {
	// URL is the NATS server, nats://host:port or tls://host:port (a
	// comma-separated list for a cluster). It may hold credentials.
	URL string
	// Prefix starts the subject of the change events, Prefix+".changes";
	// processes that share a storage share a prefix, and the processes
	// of another storage on the same NATS use another (default "kluis").
	Prefix string
	// Name is the connection's name in the NATS server's monitoring.
	Name string
	// Logger logs losing and regaining the connection (nil: discard).
	Logger *slog.Logger
}

// Subject is the subject the events of prefix are published on.
func Subject(prefix string) string { return prefix + ".changes" }

// ProofSubject is the subject on which the processes of prefix announce
// the DPoP proofs they accept (Bus.Share).
func ProofSubject(prefix string) string { return prefix + ".dpop" }

// ValidPrefix reports whether prefix can start a NATS subject: tokens of
// letters, digits, '-' and '_' separated by single dots, with no
// wildcard and no white space.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("empty subject prefix")
	}
	for tok := range strings.SplitSeq(prefix, ".") {
		if tok == "" {
			return fmt.Errorf("subject prefix %q has an empty token", prefix)
		}
		for _, r := range tok {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("subject prefix %q: %q is not a letter, digit, '-' or '_'", prefix, r)
			}
		}
	}
	return nil
}

// Bus is a notify.Broadcaster whose events reach the subscribers of every
// process connected to the same NATS subject. Subscriptions live in a
// local notify.Hub, with its bounded queues; Publish hands the event to
// the Hub and to NATS, and the events NATS brings from the other
// processes go to the Hub. The connection is made with NoEcho, so NATS
// never brings a process its own events back: each is delivered once.
// It is safe for concurrent use.
type Bus struct {
	hub     *notify.Hub
	conn    *nats.Conn
	sub     *nats.Subscription
	subject string
	logger  *slog.Logger

	proofSubject string
	proofSub     *nats.Subscription // nil until OnProof

	// epoch counts the losses and regains of the connection (Hearing).
	epoch atomic.Uint64
	// watchers hear the other processes' events (Watch).
	mu       sync.RWMutex
	watchers []func(notify.Event)
}

// Open connects to NATS and subscribes to the events of the other
// processes. Close the Bus when done.
func Open(cfg Config) (*Bus, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := ValidPrefix(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("natsbus: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{hub: notify.NewHub(), subject: Subject(cfg.Prefix), proofSubject: ProofSubject(cfg.Prefix), logger: cfg.Logger}
	conn, err := nats.Connect(cfg.URL,
		nats.Name(cfg.Name),
		nats.NoEcho(),
		nats.MaxReconnects(-1), // keep trying: events published meanwhile are buffered, then dropped
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.epoch.Add(1)
			if err != nil {
				b.logger.Warn("notifications: lost the NATS connection; other processes' events are missed until it is back", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			b.epoch.Add(1)
			b.logger.Info("notifications: NATS connection regained")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.logger.Warn("notifications: NATS", "error", err)
		}),
	)
	if err != nil {
		// The error of nats.go does not repeat the URL.
		return nil, fmt.Errorf("natsbus: connecting: %w", err)
	}
	b.conn = conn
	if b.sub, err = conn.Subscribe(b.subject, b.receive); err != nil {
		conn.Close()
		return nil, fmt.Errorf("natsbus: subscribing to %s: %w", b.subject, err)
	}
	// The subscription is known to the server once Flush returns: events
	// published by others after Open are heard.
	if err := conn.FlushTimeout(10 * time.Second); err != nil {
		conn.Close()
		return nil, fmt.Errorf("natsbus: subscribing to %s: %w", b.subject, err)
	}
	return b, nil
}

// wire is the JSON form of an event on NATS.
type wire struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Object    string    `json:"object"`
	Target    string    `json:"target,omitempty"`
	Topic     string    `json:"topic"`
	State     string    `json:"state,omitempty"`
	Published time.Time `json:"published"`
}

// Publish delivers e to this process's subscribers, then publishes it for
// the others. NATS buffers it: Publish does not wait for the network.
func (b *Bus) Publish(ctx context.Context, e notify.Event) error {
	_ = b.hub.Publish(ctx, e)
	data, err := json.Marshal(wire{ID: e.ID, Type: e.Type, Object: e.Object, Target: e.Target, Topic: e.Topic, State: e.State, Published: e.Published})
	if err != nil {
		return err
	}
	if err := b.conn.Publish(b.subject, data); err != nil {
		return fmt.Errorf("natsbus: publishing: %w", err)
	}
	return nil
}

// receive hands an event of another process to the local subscribers.
// A message that is not an event is logged and left out.
func (b *Bus) receive(m *nats.Msg) {
	var w wire
	if err := json.Unmarshal(m.Data, &w); err != nil || w.Topic == "" || w.Type == "" {
		b.logger.Warn("notifications: a NATS message on the events subject is not an event", "subject", m.Subject)
		return
	}
	e := notify.Event{
		ID: w.ID, Type: w.Type, Object: w.Object, Target: w.Target, Topic: w.Topic, State: w.State, Published: w.Published,
	}
	b.mu.RLock()
	for _, fn := range b.watchers {
		fn(e)
	}
	b.mu.RUnlock()
	_ = b.hub.Publish(context.Background(), e)
}

// Watch calls fn with every event of the other processes (notify.Feed),
// before their subscribers hear of it.
func (b *Bus) Watch(fn func(notify.Event)) {
	b.mu.Lock()
	b.watchers = append(b.watchers, fn)
	b.mu.Unlock()
}

// Hearing reports whether the connection to NATS is up, and an epoch that
// moves on whenever it is lost or regained (notify.Feed): events of other
// processes published while it was down are never heard.
func (b *Bus) Hearing() (uint64, bool) {
	e := b.epoch.Load()
	return e, b.conn.IsConnected() && b.epoch.Load() == e
}

// Subscribe returns a subscription of the local Hub.
func (b *Bus) Subscribe(queue int) notify.Subscription { return b.hub.Subscribe(queue) }

// Dropped returns how many local subscriptions were dropped for falling
// behind.
func (b *Bus) Dropped() int64 { return b.hub.Dropped() }

// proofSize is the size of a proof announcement: the replay cache key,
// then iat and the end of the proof's window in Unix nanoseconds, big
// endian.
const proofSize = 32 + 8 + 8

// Share announces a DPoP proof this process accepted to the others
// (webid.ReplayShare), so that they refuse it as a replay. NATS buffers
// it: Share does not wait for the network; while the connection is down
// announcements are dropped, and a proof could be replayed once elsewhere
// within its window.
func (b *Bus) Share(key [32]byte, iat, until time.Time) {
	var m [proofSize]byte
	copy(m[:32], key[:])
	binary.BigEndian.PutUint64(m[32:40], uint64(iat.UnixNano()))
	binary.BigEndian.PutUint64(m[40:], uint64(until.UnixNano()))
	if err := b.conn.Publish(b.proofSubject, m[:]); err != nil {
		b.logger.Warn("dpop: announcing a used proof over NATS", "error", err)
	}
}

// OnProof subscribes seen to the proofs the other processes accept
// (webid.Verifier.Seen). The subscription is known to the server when it
// returns.
func (b *Bus) OnProof(seen func(key [32]byte, iat, until time.Time)) error {
	sub, err := b.conn.Subscribe(b.proofSubject, func(m *nats.Msg) {
		if len(m.Data) != proofSize {
			b.logger.Warn("dpop: a NATS message on the proofs subject is not a proof announcement", "subject", m.Subject)
			return
		}
		var key [32]byte
		copy(key[:], m.Data[:32])
		iat := time.Unix(0, int64(binary.BigEndian.Uint64(m.Data[32:40])))
		until := time.Unix(0, int64(binary.BigEndian.Uint64(m.Data[40:])))
		seen(key, iat, until)
		b.logger.Debug("dpop: a proof used by another process is remembered")
	})
	if err != nil {
		return fmt.Errorf("natsbus: subscribing to %s: %w", b.proofSubject, err)
	}
	if err := b.conn.FlushTimeout(10 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("natsbus: subscribing to %s: %w", b.proofSubject, err)
	}
	b.proofSub = sub
	return nil
}

// Close sends what is buffered, within a few seconds, and disconnects.
func (b *Bus) Close() error {
	if b.proofSub != nil {
		_ = b.proofSub.Unsubscribe()
	}
	_ = b.sub.Unsubscribe()
	err := b.conn.FlushTimeout(5 * time.Second)
	b.conn.Close()
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("natsbus: closing: %w", err)
	}
	return nil
}
