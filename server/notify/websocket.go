package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/weconomics/kluis/webid/limit"
)

// acceptOptions are those of every notification WebSocket. Solid apps run
// on origins of their own, so every Origin is accepted: a
// WebSocketChannel2023 connection is authorized by the secret token of
// its receiveFrom, and the legacy protocol tells only what anyone may
// read.
func acceptOptions(subprotocols ...string) *websocket.AcceptOptions {
	return &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: subprotocols}
}

// ServeWebSocket serves the receiveFrom of a WebSocketChannel2023 channel
// (WebSocketChannel2023 §2): the ?auth= token names the channel, one
// connection at a time; each notification is one text message of JSON-LD.
// Before the upgrade it returns ErrUnknownChannel or ErrChannelInUse for
// server to answer; after it, it returns nil and closes the connection
// itself: normally when endAt passes, with "policy violation" when Read
// on the topic was withdrawn, with "try again later" when the receiver
// fell behind. The channel ends with its connection.
func (s *Service) ServeWebSocket(w http.ResponseWriter, r *http.Request) error {
	ch, ctx, err := s.open(r.Context(), r.URL.Query().Get("auth"), WebSocket)
	if err != nil {
		return err
	}
	defer s.done(ch)
	conn, err := websocket.Accept(w, r, acceptOptions())
	if err != nil {
		return nil // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(4 << 10)
	// The receiver has nothing to say; reading handles pings, pongs and
	// the closing handshake, and ends ctx when the connection goes.
	ctx = conn.CloseRead(ctx)
	err = s.run(ctx, ch, func(ctx context.Context, e Event) error {
		return s.write(ctx, conn, e.JSON())
	}, conn.Ping)
	closeFor(conn, err)
	return nil
}

// write sends one text message within WriteTimeout.
func (s *Service) write(ctx context.Context, conn *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.limits.WriteTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, msg)
}

// closeFor closes a connection as the reason its delivery ended asks.
func closeFor(conn *websocket.Conn, err error) {
	switch {
	case errors.Is(err, errExpired):
		conn.Close(websocket.StatusNormalClosure, "the channel reached its endAt")
	case errors.Is(err, errAccessWithdrawn):
		conn.Close(websocket.StatusPolicyViolation, "read access to the topic was withdrawn")
	case errors.Is(err, errDropped):
		conn.Close(websocket.StatusTryAgainLater, "the receiver fell behind")
	case errors.Is(err, context.Canceled):
		// The client went, or the channel was deleted.
		conn.Close(websocket.StatusGoingAway, "the channel ended")
	}
}

// LegacySubprotocol is the WebSocket subprotocol of the legacy protocol.
const LegacySubprotocol = "solid-0.1"

// ServeLegacy serves the legacy "solid-0.1" protocol of the Node Solid
// Server, which SolidOS (mashlib) finds through the Updates-Via header:
// the client sends "sub <url>" and hears "ack <url>", then "pub <url>"
// whenever the resource at url changes, and "pub <container>" to a
// subscriber of a container when a resource in it is created or deleted.
// The protocol has no authentication, so a pub is sent only when canRead
// (the anonymous agent's Read) allows the URL, asked at every delivery:
// it never tells of a change anyone could not see by reading. client is
// the peer's address, which the per-agent limit counts legacy connections
// by, and which counts among the anonymous subscribers. Before the
// upgrade it returns ErrTooManyChannels.
func (s *Service) ServeLegacy(w http.ResponseWriter, r *http.Request, client string, canRead func(ctx context.Context, iri string) bool) error {
	agent := quota{key: "legacy " + limit.AddressKey(client), anonymous: true}
	s.mu.Lock()
	s.sweep(s.cfg.Now())
	err := s.reserve(agent)
	if err == nil {
		s.legacy++
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() {
		s.mu.Lock()
		s.legacy--
		s.release(agent)
		s.mu.Unlock()
	}()
	conn, err := websocket.Accept(w, r, acceptOptions(LegacySubprotocol))
	if err != nil {
		return nil
	}
	defer conn.CloseNow()
	conn.SetReadLimit(4 << 10)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)() // Close ends it too
	sub := s.bc.Subscribe(s.limits.Queue)
	defer sub.Close()
	l := &legacyConn{sub: sub, sent: make(map[string]string)}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		s.legacyReader(ctx, conn, l)
	}()
	defer wg.Wait()

	var tick <-chan time.Time
	if s.limits.PingInterval > 0 {
		t := time.NewTicker(s.limits.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusGoingAway, "")
			return nil
		case <-sub.Done():
			conn.Close(websocket.StatusTryAgainLater, "the receiver fell behind")
			return nil
		case e := <-sub.Events():
			if !canRead(ctx, e.Topic) {
				continue
			}
			if err := s.write(ctx, conn, []byte("pub "+l.asSent(e.Topic))); err != nil {
				return nil
			}
		case <-tick:
			pctx, pcancel := context.WithTimeout(ctx, s.limits.PingTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				conn.CloseNow()
				return nil
			}
		}
	}
}

// legacyConn is the subscriptions of one legacy connection.
type legacyConn struct {
	sub Subscription
	mu  sync.Mutex
	// sent maps each topic to the URL the client subscribed with, which
	// pub messages use, since clients match them as strings.
	sent map[string]string
}

func (l *legacyConn) asSent(topic string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, ok := l.sent[topic]; ok {
		return u
	}
	return topic
}

// add subscribes to topic, as the client wrote it; false when the
// connection holds max topics already.
func (l *legacyConn) add(topic, asSent string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.sent[topic]; ok {
		return true
	}
	if len(l.sent) >= max {
		return false
	}
	l.sent[topic] = asSent
	l.sub.Add(topic)
	return true
}

// legacyReader reads "sub <url>" messages until the connection ends.
func (s *Service) legacyReader(ctx context.Context, conn *websocket.Conn, l *legacyConn) {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		for line := range strings.Lines(string(data)) {
			cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
			if cmd != "sub" {
				continue
			}
			arg = strings.TrimSpace(arg)
			if i := strings.IndexByte(arg, '#'); i >= 0 {
				arg = arg[:i]
			}
			topic, ok := s.cfg.Topic(arg)
			if !ok {
				_ = s.write(ctx, conn, []byte("err "+arg+" is not on this server"))
				continue
			}
			if !l.add(topic, arg, s.limits.MaxLegacyTopics) {
				_ = s.write(ctx, conn, []byte("err too many subscriptions"))
				continue
			}
			// The ack echoes the URL as the client sent it, which is how
			// clients match it.
			if s.write(ctx, conn, []byte("ack "+arg)) != nil {
				return
			}
		}
	}
}
