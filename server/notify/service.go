package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/webid/limit"
)

// Limits bound what notifications may cost. The zero value of a field
// means its default.
type Limits struct {
	// MaxChannels is the most channels the server keeps, legacy
	// connections included (default 10,000).
	MaxChannels int
	// MaxChannelsPerAgent is the most channels one agent may hold: per
	// WebID, and per client address for legacy connections (default 100).
	MaxChannelsPerAgent int
	// MaxAnonymousPerAddress is the most channels anonymous subscribers
	// from one client address (an IPv6 one by its /64) may hold (default
	// 20), so that one client cannot use up what other anonymous
	// subscribers need.
	MaxAnonymousPerAddress int
	// MaxAnonymous is the most channels and legacy connections all
	// anonymous subscribers together may hold (default half of
	// MaxChannels), so that the rest stays for authenticated agents.
	MaxAnonymous int
	// AnonymousMaxDuration is the longest an anonymous subscriber's
	// channel lives: its endAt is cut to it (default 24 hours), so that
	// what many addresses together hold frees up within a day.
	AnonymousMaxDuration time.Duration
	// MaxLegacyTopics is the most resources one legacy connection may
	// subscribe to (default 1,000).
	MaxLegacyTopics int
	// Queue is how many notifications may wait for one channel; a channel
	// whose queue is full when another comes is dropped (default 64).
	Queue int
	// MaxDuration is the longest a channel lives: endAt is cut to it
	// (default 14 days).
	MaxDuration time.Duration
	// ConnectTimeout is how long a WebSocket or streaming channel waits
	// for its receiveFrom to be opened before it is forgotten (default 10
	// minutes).
	ConnectTimeout time.Duration
	// PingInterval is how often an idle WebSocket is pinged (default 30 s;
	// negative: never); PingTimeout how long its pong may take (default
	// 15 s); WriteTimeout how long one notification may take to write
	// (default 10 s). A connection that fails one is closed.
	PingInterval time.Duration
	PingTimeout  time.Duration
	WriteTimeout time.Duration
	// WebhookAttempts is how often a webhook notification is tried before
	// the channel is dropped (default 3), WebhookBackoff the wait before
	// the second try, doubled for each further one (default 1 s).
	WebhookAttempts int
	WebhookBackoff  time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxChannels, 10_000)
	def(&l.MaxChannelsPerAgent, 100)
	def(&l.MaxAnonymousPerAddress, 20)
	def(&l.MaxAnonymous, max(l.MaxChannels/2, 1))
	defDur(&l.AnonymousMaxDuration, 24*time.Hour)
	def(&l.MaxLegacyTopics, 1_000)
	def(&l.Queue, 64)
	def(&l.WebhookAttempts, 3)
	defDur(&l.MaxDuration, 14*24*time.Hour)
	defDur(&l.ConnectTimeout, 10*time.Minute)
	defDur(&l.PingInterval, 30*time.Second)
	defDur(&l.PingTimeout, 15*time.Second)
	defDur(&l.WriteTimeout, 10*time.Second)
	defDur(&l.WebhookBackoff, time.Second)
	return l
}

// Config sets up a Service.
type Config struct {
	// BaseURL is the public URL of the server root, ending in "/": the
	// subscription services, channels and receiveFrom URLs live under
	// BaseURL/.notifications/.
	BaseURL string
	// Topic returns the canonical IRI of a resource on this server, or
	// false when iri names none. Topics of subscriptions go through it.
	Topic func(iri string) (string, bool)
	// Broadcaster carries the events; nil means a new Hub.
	Broadcaster Broadcaster
	// Limits bound channels, queues and connections.
	Limits Limits
	// Now is the clock (default time.Now); Sleep waits between webhook
	// attempts (default a timer that ends early with ctx).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Webhooks posts webhook notifications: give it the guarded client of
	// webid/fetch, so that a sendTo URL cannot reach loopback or private
	// addresses. nil: WebhookChannel2023 is not offered.
	Webhooks *http.Client
	// Sender is the WebID that webhook notifications come from, told in
	// each webhook channel's description; "" means the server's base URL.
	Sender string
	// WebhookAuth, when set, gives the Authorization and DPoP headers of
	// each webhook POST, made as Sender (WebhookChannel2023 §3).
	WebhookAuth func(ctx context.Context, method, url string) (http.Header, error)
	// InsecureHTTPWebhooks lets sendTo be an http URL, which the
	// specification forbids (WebhookChannel2023 §2: "MUST be a URI, using
	// the https scheme"); for tests and development only.
	InsecureHTTPWebhooks bool
	// Logger logs channels that end abnormally, never their tokens, ids
	// or sendTo URLs (nil: discard).
	Logger *slog.Logger
}

// The errors of a Service, which server maps to statuses.
var (
	// ErrTooManyChannels: a limit of Limits is reached (429).
	ErrTooManyChannels = errors.New("notify: too many notification channels")
	// ErrUnknownChannel: no channel has that id or token (404).
	ErrUnknownChannel = errors.New("notify: no such notification channel")
	// ErrChannelInUse: the receiveFrom of the channel is open already
	// (409).
	ErrChannelInUse = errors.New("notify: the channel is connected already")
)

// Why a channel ends.
var (
	errExpired         = errors.New("notify: the channel reached its endAt")
	errDropped         = errors.New("notify: the receiver fell behind")
	errAccessWithdrawn = errors.New("notify: the subscriber may no longer read the topic")
	errDeliveryFailed  = errors.New("notify: the webhook failed every attempt")
)

// Subscriber is who asks for a channel, as server authenticated them.
type Subscriber struct {
	// Agent is the WebID, "" when anonymous: the limits per agent count
	// by it, and only the same agent may delete the channel.
	Agent string
	// Address is the client's address ("host" or "host:port"): the
	// limits of anonymous subscribers count by it.
	Address string
	// CanRead reports whether the subscriber may read a resource now.
	// It is asked before every notification.
	CanRead func(ctx context.Context, iri string) bool
	// Current is the topic's ETag now, "" when it does not exist; a
	// request whose state differs gets a notification at once.
	Current string
}

// Channel is a notification channel (Solid Notifications Protocol §3.3).
type Channel struct {
	Request
	// ID is the channel's IRI; DELETE on it unsubscribes.
	ID string
	// ReceiveFrom is where a WebSocket or streaming receiver connects; it
	// holds the channel's secret token.
	ReceiveFrom string
	// Sender identifies the sender of webhook notifications.
	Sender string

	id, token string
	sub       Subscriber
	created   time.Time
	// quota is what the channel counts against (Service.reserve).
	quota quota
	// connected and cancel are guarded by Service.mu.
	connected bool
	cancel    context.CancelFunc
}

// Service keeps notification channels and delivers to them. It is safe
// for concurrent use.
type Service struct {
	cfg    Config
	limits Limits
	bc     Broadcaster
	logger *slog.Logger
	base   string // BaseURL, with a trailing "/"
	wsBase string // ws(s)://host/

	mu       sync.Mutex
	channels map[string]*Channel // by id
	tokens   map[string]*Channel
	perAgent map[string]int // by quota key
	anon     int            // anonymous channels and legacy connections
	legacy   int
	ctx      context.Context // the life of webhook deliveries
	stop     context.CancelFunc
}

// NewService makes a Service.
func NewService(cfg Config) (*Service, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.Topic == nil {
		return nil, errors.New("notify: no Topic function")
	}
	if cfg.Broadcaster == nil {
		cfg.Broadcaster = NewHub()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ws := "ws"
	if u.Scheme == "https" {
		ws = "wss"
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{
		cfg: cfg, limits: cfg.Limits.withDefaults(), bc: cfg.Broadcaster, logger: cfg.Logger,
		base: u.Scheme + "://" + u.Host + "/", wsBase: ws + "://" + u.Host + "/",
		channels: make(map[string]*Channel), tokens: make(map[string]*Channel), perAgent: make(map[string]int),
		ctx: ctx, stop: stop,
	}, nil
}

// Close ends every channel and connection: webhook deliveries, WebSocket
// and stream connections (whose receivers may subscribe again), legacy
// connections; for a graceful shutdown.
func (s *Service) Close() { s.stop() }

// Publish hands the events to the Broadcaster.
func (s *Service) Publish(ctx context.Context, events ...Event) {
	for _, e := range events {
		if err := s.bc.Publish(ctx, e); err != nil {
			s.logger.Warn("notifications: publishing failed", "error", err)
		}
	}
}

// Paths of the notification endpoints, below the server root.
const (
	// Prefix holds every notification endpoint.
	Prefix = "/.notifications/"
	// ChannelsPath holds the channels: ChannelsPath + id.
	ChannelsPath = Prefix + "channels/"
	// WebSocketPath is the receiveFrom of WebSocket channels (?auth=).
	WebSocketPath = Prefix + "ws"
	// StreamPath is the receiveFrom of streaming channels (?auth=).
	StreamPath = Prefix + "stream"
	// LegacyPath is the solid-0.1 WebSocket (Updates-Via).
	LegacyPath = Prefix + "legacy"
)

// ServicePath is the path of the subscription service of a channel type.
func ServicePath(t ChannelType) string { return Prefix + string(t) + "/" }

// ServiceIRI is the IRI of the subscription service of a channel type.
func (s *Service) ServiceIRI(t ChannelType) string { return s.base + ServicePath(t)[1:] }

// LegacyURL is the Updates-Via URL of the legacy protocol.
func (s *Service) LegacyURL() string { return s.wsBase + LegacyPath[1:] }

// Offers reports whether the Service serves a channel type.
func (s *Service) Offers(t ChannelType) bool { return t != Webhook || s.cfg.Webhooks != nil }

// Subscribe creates a channel for a subscription request whose subscriber
// server has authorized to read the topic (Solid Notifications Protocol
// §2.2). The topic must be on this server. A webhook channel starts
// delivering at once; the others when their receiveFrom is opened.
func (s *Service) Subscribe(req Request, sub Subscriber) (*Channel, error) {
	if !s.Offers(req.Type) {
		return nil, &RequestError{Reason: "channel type " + string(req.Type) + " is not offered"}
	}
	topic, ok := s.cfg.Topic(req.Topic)
	if !ok {
		return nil, &RequestError{Reason: "the topic is not a resource on this server"}
	}
	req.Topic = topic
	now := s.cfg.Now()
	q := quotaOf(sub)
	if err := s.checkFeatures(&req, q.anonymous, now); err != nil {
		return nil, err
	}
	if req.Type == Webhook {
		if err := s.checkSendTo(req.SendTo); err != nil {
			return nil, err
		}
	} else if req.SendTo != "" {
		return nil, &RequestError{Reason: "sendTo belongs to webhook channels"}
	}
	ch := &Channel{Request: req, id: rand.Text(), token: rand.Text(), sub: sub, created: now, quota: q}
	ch.ID = s.base + ChannelsPath[1:] + ch.id
	switch req.Type {
	case WebSocket:
		ch.ReceiveFrom = s.wsBase + WebSocketPath[1:] + "?auth=" + ch.token
	case StreamingHTTP:
		ch.ReceiveFrom = s.base + StreamPath[1:] + "?auth=" + ch.token
	case Webhook:
		ch.Sender = s.base
		if s.cfg.Sender != "" {
			ch.Sender = s.cfg.Sender
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if err := s.reserve(q); err != nil {
		return nil, err
	}
	s.channels[ch.id] = ch
	s.tokens[ch.token] = ch
	if req.Type == Webhook {
		ctx, cancel := context.WithCancel(s.ctx)
		ch.connected, ch.cancel = true, cancel
		go s.runWebhook(ctx, ch)
	}
	return ch, nil
}

// checkFeatures validates and settles the features of a request; an
// anonymous subscriber's channel ends sooner.
func (s *Service) checkFeatures(req *Request, anonymous bool, now time.Time) error {
	last := now.Add(s.limits.MaxDuration)
	if anonymous {
		last = now.Add(min(s.limits.MaxDuration, s.limits.AnonymousMaxDuration))
	}
	if req.EndAt.IsZero() || req.EndAt.After(last) {
		req.EndAt = last
	}
	if !req.EndAt.After(now) {
		return &RequestError{Reason: "endAt is in the past"}
	}
	if !req.StartAt.IsZero() && !req.StartAt.Before(req.EndAt) {
		return &RequestError{Reason: "startAt is not before endAt"}
	}
	if req.Rate < 0 {
		return &RequestError{Reason: "rate is negative"}
	}
	if req.Accept != "" && !acceptsJSONLD(req.Accept) {
		return &RequestError{Reason: "notifications are application/ld+json only, which accept does not allow"}
	}
	return nil
}

// acceptsJSONLD reports whether an Accept value allows application/ld+json.
func acceptsJSONLD(accept string) bool {
	for _, r := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(r))
		if err != nil || params["q"] == "0" || params["q"] == "0.0" || params["q"] == "0.000" {
			continue
		}
		switch mt {
		case "application/ld+json", "application/*", "*/*":
			return true
		}
	}
	return false
}

// checkSendTo validates the webhook URL of a request.
func (s *Service) checkSendTo(sendTo string) error {
	u, err := url.Parse(sendTo)
	if sendTo == "" || err != nil || u.Host == "" || u.User != nil {
		return &RequestError{Reason: "sendTo must be an absolute https URL"}
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && s.cfg.InsecureHTTPWebhooks) {
		return &RequestError{Reason: "sendTo must be an absolute https URL"}
	}
	return nil
}

// quota is what a channel or legacy connection counts against: its key
// in Service.perAgent, and whether it is anonymous.
type quota struct {
	key       string
	anonymous bool
}

// quotaOf is the quota of a subscriber: its WebID, or for an anonymous
// one its client address.
func quotaOf(sub Subscriber) quota {
	if sub.Agent != "" {
		return quota{key: "agent " + sub.Agent}
	}
	return quota{key: "anonymous " + limit.AddressKey(sub.Address), anonymous: true}
}

// reserve counts one more channel against q, within the limits. s.mu is
// held.
func (s *Service) reserve(q quota) error {
	if len(s.channels)+s.legacy >= s.limits.MaxChannels {
		return fmt.Errorf("%w: the server holds %d", ErrTooManyChannels, s.limits.MaxChannels)
	}
	perKey := s.limits.MaxChannelsPerAgent
	if q.anonymous {
		if s.anon >= s.limits.MaxAnonymous {
			return fmt.Errorf("%w: anonymous subscribers hold %d", ErrTooManyChannels, s.limits.MaxAnonymous)
		}
		if !strings.HasPrefix(q.key, "legacy ") {
			perKey = s.limits.MaxAnonymousPerAddress
		}
	}
	if s.perAgent[q.key] >= perKey {
		if q.anonymous {
			return fmt.Errorf("%w: at most %d per client address for anonymous subscribers", ErrTooManyChannels, perKey)
		}
		return fmt.Errorf("%w: at most %d per agent", ErrTooManyChannels, perKey)
	}
	s.perAgent[q.key]++
	if q.anonymous {
		s.anon++
	}
	return nil
}

// release undoes reserve. s.mu is held.
func (s *Service) release(q quota) {
	if s.perAgent[q.key]--; s.perAgent[q.key] <= 0 {
		delete(s.perAgent, q.key)
	}
	if q.anonymous {
		s.anon--
	}
}

// sweep forgets the channels whose receiveFrom was not opened in time or
// whose endAt has passed while unconnected. s.mu is held.
func (s *Service) sweep(now time.Time) {
	for _, ch := range s.channels {
		if ch.connected {
			continue
		}
		if now.Sub(ch.created) > s.limits.ConnectTimeout || !now.Before(ch.EndAt) {
			s.forget(ch)
		}
	}
}

// forget removes a channel. s.mu is held.
func (s *Service) forget(ch *Channel) {
	if s.channels[ch.id] != ch {
		return
	}
	delete(s.channels, ch.id)
	delete(s.tokens, ch.token)
	s.release(ch.quota)
	if ch.cancel != nil {
		ch.cancel()
	}
}

// open claims the receiveFrom of a channel for one connection, which
// must call done when it ends.
func (s *Service) open(ctx context.Context, token string, t ChannelType) (*Channel, context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.cfg.Now())
	ch, ok := s.tokens[token]
	if !ok || token == "" || ch.Type != t {
		return nil, nil, ErrUnknownChannel
	}
	if ch.connected {
		return nil, nil, ErrChannelInUse
	}
	ctx, cancel := context.WithCancel(ctx)
	// Close ends the connection too.
	stop := context.AfterFunc(s.ctx, cancel)
	ch.connected, ch.cancel = true, func() { stop(); cancel() }
	return ch, ctx, nil
}

// done forgets a channel whose delivery ended: a WebSocket or stream
// channel lives as long as its one connection.
func (s *Service) done(ch *Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(ch)
}

// Unsubscribe deletes the channel with that IRI id, when agent made it
// (WebhookChannel2023 §1.1: a receiver unsubscribes by telling the
// subscription server). A connection on it is closed.
func (s *Service) Unsubscribe(channelIRI, agent string) error {
	id, ok := strings.CutPrefix(channelIRI, s.base+ChannelsPath[1:])
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if !ok || ch == nil || ch.sub.Agent != agent {
		return ErrUnknownChannel
	}
	s.forget(ch)
	return nil
}

// Channels returns how many channels and legacy connections are open.
func (s *Service) Channels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels) + s.legacy
}

// Description is the channel's JSON-LD description, the subscription
// response (Solid Notifications Protocol §3.3).
func (ch *Channel) Description() map[string]any {
	d := map[string]any{
		"@context": ContextNotification,
		"id":       ch.ID, "type": string(ch.Type), "topic": ch.Topic,
		"endAt": ch.EndAt.UTC().Format(time.RFC3339Nano),
	}
	if ch.ReceiveFrom != "" {
		d["receiveFrom"] = ch.ReceiveFrom
	}
	if ch.SendTo != "" {
		d["sendTo"] = ch.SendTo
	}
	if ch.Sender != "" {
		d["sender"] = ch.Sender
	}
	if !ch.StartAt.IsZero() {
		d["startAt"] = ch.StartAt.UTC().Format(time.RFC3339Nano)
	}
	if ch.Rate > 0 {
		d["rate"] = FormatDuration(ch.Rate)
	}
	if ch.Accept != "" {
		d["accept"] = ch.Accept
	}
	return d
}

// run delivers the channel's notifications with send until ctx ends, the
// channel expires, the subscriber loses Read on the topic, the queue
// overflows or send fails. ping, when set, is called every PingInterval
// while nothing else happens.
func (s *Service) run(ctx context.Context, ch *Channel, send func(context.Context, Event) error, ping func(context.Context) error) error {
	sub := s.bc.Subscribe(s.limits.Queue)
	defer sub.Close()
	sub.Add(ch.Topic)
	end := time.NewTimer(ch.EndAt.Sub(s.cfg.Now()))
	defer end.Stop()
	var tick <-chan time.Time
	if ping != nil && s.limits.PingInterval > 0 {
		t := time.NewTicker(s.limits.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	var last time.Time
	deliver := func(e Event) error {
		now := s.cfg.Now()
		switch {
		case !now.Before(ch.EndAt):
			return errExpired
		case !ch.StartAt.IsZero() && now.Before(ch.StartAt):
			return nil
		case ch.Rate > 0 && !last.IsZero() && now.Sub(last) < ch.Rate:
			// rate: "the minimum amount of time to elapse between
			// notifications"; one that comes sooner is left out.
			return nil
		}
		// No notification reveals a resource the subscriber may not
		// read: Read on the topic is asked again, now.
		if !ch.sub.CanRead(ctx, e.Topic) {
			return errAccessWithdrawn
		}
		last = now
		return send(ctx, e)
	}
	// state: "the last known state of a topic resource"; when the
	// subscriber's is not the current one, they hear of it at once.
	if ch.State != "" && ch.State != ch.sub.Current {
		e := Event{ID: newID(), Type: TypeUpdate, Object: ch.Topic, Topic: ch.Topic, State: ch.sub.Current, Published: s.cfg.Now()}
		if ch.sub.Current == "" {
			e.Type = TypeDelete
		}
		if err := deliver(e); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end.C:
			return errExpired
		case <-sub.Done():
			return errDropped
		case e := <-sub.Events():
			if err := deliver(*e); err != nil {
				return err
			}
		case <-tick:
			pctx, cancel := context.WithTimeout(ctx, s.limits.PingTimeout)
			err := ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		}
	}
}

// sleep waits d, or less when ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
