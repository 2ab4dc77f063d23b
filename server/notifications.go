package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/webid/idp"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
)

// NotificationsConfig configures Solid Notifications (server/notify): the
// subscription services of WebSocketChannel2023, StreamingHTTPChannel2023
// and WebhookChannel2023 listed in every storage description, and the
// legacy solid-0.1 WebSocket that Updates-Via names. The zero value serves
// them all with the default limits, in process.
type NotificationsConfig struct {
	// Off serves no notifications: no subscription services, no
	// Updates-Via header, no change events.
	Off bool
	// Broadcaster carries change events to subscribers; nil means an
	// in-process notify.Hub (one process: subscribers hear of the writes
	// made through this process only).
	Broadcaster notify.Broadcaster
	// Limits bound channels, queues and connections (notify.Limits).
	Limits notify.Limits
	// Now and Sleep are the clock and the wait between webhook attempts;
	// nil means the real ones.
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
	// NoWebhooks leaves WebhookChannel2023 out. Webhooks are posted
	// through Config.Fetcher's guarded client, so they reach public
	// addresses only, unless its allow-list says otherwise.
	NoWebhooks bool
	// InsecureHTTPWebhooks accepts http:// sendTo URLs, which
	// WebhookChannel2023 forbids: for tests and development only.
	InsecureHTTPWebhooks bool
}

// notifications serves the subscription services, the channels and the
// notification WebSockets and streams.
type notifications struct {
	svc   *notify.Service
	store *ldp.Store
	authn Authenticator
	perms Permissions
}

// newNotifications builds the Service of a configuration; it returns nil
// when notifications are off. space is filled in later: the Service is
// made before the store, whose OnChange and Describe it provides.
func newNotifications(cfg Config, space **ldp.Store, sender *senderIdentity) (*notify.Service, error) {
	nc := cfg.Notifications
	if nc.Off {
		return nil, nil
	}
	ncfg := notify.Config{
		BaseURL: cfg.BaseURL.String(),
		Topic: func(iri string) (string, bool) {
			p, ok := (*space).PathOf(iri)
			if !ok {
				return "", false
			}
			return (*space).IRI(p), true
		},
		Broadcaster: nc.Broadcaster, Limits: nc.Limits, Now: nc.Now, Sleep: nc.Sleep,
		InsecureHTTPWebhooks: nc.InsecureHTTPWebhooks,
	}
	if !nc.NoWebhooks {
		ncfg.Webhooks = cfg.Fetcher.HTTPClient()
		if sender != nil {
			ncfg.Sender, ncfg.WebhookAuth = sender.webid, sender.headers
			ncfg.Webhooks = cfg.Fetcher.CredentialedHTTPClient()
		}
	}
	return notify.NewService(ncfg)
}

// senderPath is the WebID document of the server as the sender of webhook
// notifications; the WebID is its #it.
const senderPath = notify.Prefix + "sender"

// senderIdentity is the server's own identity for webhook notifications
// (WebhookChannel2023 §3): a WebID served at senderPath whose
// solid:oidcIssuer is the built-in identity provider, which issues the
// agent its tokens. agent is set once the provider exists.
type senderIdentity struct {
	webid, issuer string
	agent         *idp.ServiceAgent
}

func (s *senderIdentity) headers(ctx context.Context, method, url string) (http.Header, error) {
	if s.agent == nil {
		return nil, errors.New("server: the webhook sender has no identity provider")
	}
	return s.agent.Headers(ctx, method, url)
}

// document answers the sender's WebID document.
func (s *senderIdentity) document(c echo.Context) error {
	c.Response().Header().Set("Content-Type", "text/turtle; charset=utf-8")
	c.Response().Header().Set("Cache-Control", "max-age=3600")
	return c.String(http.StatusOK, "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n"+
		"<#it> a <http://xmlns.com/foaf/0.1/Agent>;\n"+
		"    <http://xmlns.com/foaf/0.1/name> \"Kluis notifications\";\n"+
		"    solid:oidcIssuer <"+s.issuer+">.\n")
}

// onChange publishes the notifications of a write (ldp.Config.OnChange).
func onChange(svc *notify.Service, space **ldp.Store) func(ldp.Change) {
	return func(c ldp.Change) {
		svc.Publish(context.Background(), notify.Activities(c, (*space).IRI)...)
	}
}

// describeServices lists the subscription services in a storage
// description (Solid Notifications Protocol §2.1 "Discovery", §3.1
// "Description Resource", §3.2 "Subscription Service"):
//
//	<description> notify:subscription <service>.
//	<service> notify:channelType notify:WebSocketChannel2023;
//	    notify:feature notify:accept, notify:endAt, notify:rate, notify:startAt, notify:state.
//
// It names the notification gateway of @inrupt/solid-client-notifications
// too (notify.GatewayPredicate), on the storage, which the client reads
// from the first subject of the document: ldp writes the storage first
// (rdfx.SerializeFirst), also when the services are on another host that
// sorts before it (pods on subdomains).
func describeServices(svc *notify.Service) func(description, storage string) []rdfx.Triple {
	return func(description, storage string) []rdfx.Triple {
		ts := []rdfx.Triple{{S: rdfx.IRI(storage), P: rdfx.IRI(notify.GatewayPredicate), O: rdfx.IRI(svc.GatewayIRI())}}
		for _, t := range notify.ChannelTypes {
			if !svc.Offers(t) {
				continue
			}
			s := rdfx.IRI(svc.ServiceIRI(t))
			ts = append(ts,
				rdfx.Triple{S: rdfx.IRI(description), P: rdfx.IRI(notify.NS + "subscription"), O: s},
				rdfx.Triple{S: s, P: rdfx.IRI(notify.NS + "channelType"), O: rdfx.IRI(t.IRI())})
			for _, f := range notify.Features {
				ts = append(ts, rdfx.Triple{S: s, P: rdfx.IRI(notify.NS + "feature"), O: rdfx.IRI(notify.NS + f)})
			}
		}
		return ts
	}
}

func (n *notifications) register(e *echo.Echo) {
	for _, t := range notify.ChannelTypes {
		if !n.svc.Offers(t) {
			continue
		}
		path := notify.ServicePath(t)
		e.GET(path, n.service(t))
		e.HEAD(path, n.service(t))
		e.OPTIONS(path, n.serviceOptions)
		e.POST(path, n.subscribe(t))
	}
	e.DELETE(notify.ChannelsPath+":id", n.unsubscribe)
	// The notification gateway of @inrupt/solid-client-notifications.
	e.POST(notify.GatewayPath, n.negotiate)
	e.OPTIONS(notify.GatewayPath, n.gatewayOptions)
	e.POST(notify.GatewayWebSocketPath, n.gatewayConnect)
	e.OPTIONS(notify.GatewayWebSocketPath, n.gatewayOptions)
	if _, isStorage, _ := n.store.StorageDescription(context.Background(), "/"); !isStorage {
		// Pods live below the root: the origin's /.well-known/solid is no
		// storage description, and names the gateway only.
		e.GET(wellKnownSolid, n.discovery)
		e.HEAD(wellKnownSolid, n.discovery)
	}
	e.GET(notify.WebSocketPath, func(c echo.Context) error {
		return n.svc.ServeWebSocket(c.Response(), c.Request())
	})
	e.GET(notify.StreamPath, func(c echo.Context) error {
		return n.svc.ServeStream(c.Response(), c.Request())
	})
	e.GET(notify.LegacyPath, n.legacy)
	// Nothing else under the prefix is a resource.
	e.Any(notify.Prefix+"*", func(echo.Context) error { return storage.ErrNotFound })
}

// jsonLD is the media type of subscription requests and responses.
const jsonLD = "application/ld+json"

// service describes a subscription service (Solid Notifications Protocol
// §3.2): its channel type and features.
func (n *notifications) service(t notify.ChannelType) echo.HandlerFunc {
	return func(c echo.Context) error {
		features := make([]string, len(notify.Features))
		copy(features, notify.Features[:])
		body, err := json.Marshal(map[string]any{
			"@context":    []string{notify.ContextNotifications},
			"id":          n.svc.ServiceIRI(t),
			"channelType": string(t),
			"feature":     features,
		})
		if err != nil {
			return err
		}
		n.serviceHeaders(c)
		if c.Request().Method == http.MethodHead {
			c.Response().Header().Set("Content-Type", jsonLD)
			return c.NoContent(http.StatusOK)
		}
		return c.Blob(http.StatusOK, jsonLD, body)
	}
}

func (n *notifications) serviceOptions(c echo.Context) error {
	n.serviceHeaders(c)
	return c.NoContent(http.StatusNoContent)
}

// serviceHeaders are the headers of every answer of a subscription
// service: GET, HEAD, OPTIONS and POST (§2.2: "Subscription Servers MUST
// support the GET, HEAD, OPTIONS, and POST methods").
func (n *notifications) serviceHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Allow", "GET, HEAD, OPTIONS, POST")
	h.Set("Accept-Post", jsonLD)
	h.Add("Vary", "Authorization")
}

// subscribe answers a subscription request (Solid Notifications Protocol
// §2.2) with the channel's description. The subscriber must be allowed to
// Read the topic, as authenticated by this very request (401 or 403
// otherwise); they are asked again before every notification.
func (n *notifications) subscribe(t notify.ChannelType) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		n.serviceHeaders(c)
		// §2.2: "MUST accept requests ... when the value of the
		// Content-Type header indicates ... application/ld+json", and
		// "MUST respond with a 415 status code for HTTP requests with
		// unsupported values in the profile parameter."
		mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
		if err != nil || (mt != jsonLD && mt != "application/json") {
			return fmt.Errorf("server: subscription of %q: %w", req.Header.Get("Content-Type"), ldp.ErrUnsupportedMediaType)
		}
		if p, ok := params["profile"]; ok && p != notify.ContextNotification && p != notify.ContextNotifications {
			return fmt.Errorf("server: subscription with profile %q: %w", p, ldp.ErrUnsupportedMediaType)
		}
		data, err := io.ReadAll(io.LimitReader(req.Body, 64<<10+1))
		if err != nil {
			return &problem.BodyReadError{Err: err}
		}
		sreq, err := notify.ParseRequest(data)
		if err != nil {
			return err
		}
		if sreq.Type != t {
			return &notify.RequestError{Reason: "this subscription service makes " + string(t) + " channels"}
		}
		ch, err := n.open(req, sreq)
		if err != nil {
			return err
		}
		body, err := json.Marshal(ch.Description())
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, jsonLD, body)
	}
}

// open makes the channel of a subscription request for the agent that
// req authenticates, who must be allowed to Read the topic.
func (n *notifications) open(req *http.Request, sreq notify.Request) (*notify.Channel, error) {
	p, ok := n.store.PathOf(sreq.Topic)
	if !ok {
		return nil, &notify.RequestError{Reason: "the topic is not a resource on this server"}
	}
	agent, err := n.authn.Authenticate(req)
	if err != nil {
		return nil, err
	}
	origin := req.Header.Get("Origin")
	canRead := n.canRead(agent, origin)
	if err := canRead(req.Context(), p); err != nil {
		return nil, err
	}
	return n.svc.Subscribe(sreq, notify.Subscriber{
		Agent:   agent.WebID,
		Address: request.ClientAddr(req),
		CanRead: func(ctx context.Context, iri string) bool {
			p, ok := n.store.PathOf(iri)
			return ok && canRead(ctx, p) == nil
		},
		Current: n.state(req.Context(), p),
	})
}

// wellKnownSolid is the discovery document of
// @inrupt/solid-client-notifications, at the origin.
const wellKnownSolid = "/.well-known/solid"

// discovery serves <origin>/.well-known/solid when the root is no
// storage: one subject, which names the notification gateway.
func (n *notifications) discovery(c echo.Context) error {
	doc := n.store.IRI(ldp.Path(wellKnownSolid))
	g := rdfx.NewGraph(1)
	g.Add(rdfx.Triple{S: rdfx.IRI(doc), P: rdfx.IRI(notify.GatewayPredicate), O: rdfx.IRI(n.svc.GatewayIRI())})
	var buf bytes.Buffer
	if err := rdfx.Serialize(&buf, g, rdfx.Turtle, doc, map[string]string{"solid": "http://www.w3.org/ns/solid/terms#"}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "max-age=3600")
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set("Content-Type", "text/turtle")
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, "text/turtle", buf.Bytes())
}

// gatewayOptions answers the preflight of the gateway's POSTs.
func (n *notifications) gatewayOptions(c echo.Context) error {
	c.Response().Header().Set("Allow", "OPTIONS, POST")
	return c.NoContent(http.StatusNoContent)
}

// readGatewayJSON reads the body of a gateway request, which must be JSON.
func readGatewayJSON(req *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != jsonLD) {
		return nil, fmt.Errorf("server: gateway request of %q: %w", req.Header.Get("Content-Type"), ldp.ErrUnsupportedMediaType)
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, 64<<10+1))
	if err != nil {
		return nil, &problem.BodyReadError{Err: err}
	}
	return data, nil
}

// negotiate answers the gateway's protocol negotiation
// (notify.Service.Negotiate): where to ask for a WebSocket.
func (n *notifications) negotiate(c echo.Context) error {
	data, err := readGatewayJSON(c.Request())
	if err != nil {
		return err
	}
	answer, err := n.svc.Negotiate(data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, answer)
}

// gatewayConnect makes a WebSocketChannel2023 channel for the gateway's
// "ws" endpoint, with the same authentication and authorization as a
// subscription request, and answers where to open its WebSocket.
func (n *notifications) gatewayConnect(c echo.Context) error {
	req := c.Request()
	data, err := readGatewayJSON(req)
	if err != nil {
		return err
	}
	sreq, err := notify.ParseGatewayRequest(data)
	if err != nil {
		return err
	}
	ch, err := n.open(req, sreq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch.GatewayAnswer())
}

// canRead asks the permission seam whether agent may read p now: nil, or
// the refusal (ErrUnauthenticated, ErrForbidden).
func (n *notifications) canRead(agent Agent, origin string) func(context.Context, ldp.Path) error {
	return func(ctx context.Context, p ldp.Path) error {
		_, err := n.store.Backend().Stat(ctx, p.Key())
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		_, err = n.perms.Check(ctx, agent, Operation{Method: http.MethodGet, Path: p, Exists: err == nil, Origin: origin})
		return err
	}
}

// state is the ETag a GET of p would answer now, "" when it does not
// exist (the state feature).
func (n *notifications) state(ctx context.Context, p ldp.Path) string {
	rep, err := n.store.Get(ctx, p, ldp.GetRequest{Accept: "text/turtle", Head: true})
	if err != nil {
		return ""
	}
	rep.Close()
	return rep.ETag
}

// unsubscribe deletes a channel (WebhookChannel2023 §1.1), when the agent
// who made it asks; 404 for anyone else.
func (n *notifications) unsubscribe(c echo.Context) error {
	req := c.Request()
	agent, err := n.authn.Authenticate(req)
	if err != nil {
		return err
	}
	id := n.store.IRI(ldp.Path(notify.ChannelsPath)) + c.Param("id")
	if err := n.svc.Unsubscribe(id, agent.WebID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// legacy serves the solid-0.1 WebSocket that Updates-Via names: pub only
// for resources the anonymous agent may read, asked at each delivery.
func (n *notifications) legacy(c echo.Context) error {
	req := c.Request()
	canRead := n.canRead(Agent{}, req.Header.Get("Origin"))
	return n.svc.ServeLegacy(c.Response(), req, c.RealIP(), func(ctx context.Context, iri string) bool {
		p, ok := n.store.PathOf(iri)
		return ok && canRead(ctx, p) == nil
	})
}

// updatesVia is the Updates-Via value of a Service, "" for none.
func updatesVia(svc *notify.Service) string {
	if svc == nil {
		return ""
	}
	return svc.LegacyURL()
}

// redactChannel hides the id of a channel in a logged path: with it,
// anyone could delete an anonymous subscriber's channel.
func redactChannel(path string) string {
	if strings.HasPrefix(path, notify.ChannelsPath) {
		return notify.ChannelsPath + "…"
	}
	return path
}
