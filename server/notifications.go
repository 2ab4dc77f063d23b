package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/idp"
)

// This file builds the notification Service of a configuration and ties
// it to the store and the seams; the routes are server/notifications'.

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

// Mount serves the sender's WebID document at senderPath.
func (s *senderIdentity) Mount(e *echo.Echo) {
	e.GET(senderPath, s.document)
	e.HEAD(senderPath, s.document)
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

// notificationAccess is the Authenticator and Permissions of every
// request, as server/notifications asks them (notifications.Access).
type notificationAccess struct {
	store *ldp.Store
	authn Authenticator
	perms Permissions
	// tickets open the tickets of the legacy WebSocket's URL.
	tickets *legacyTickets
	// logs, when set, make the pods' access logs topics for their owners
	// only.
	logs *accessLog
}

func (a notificationAccess) Authenticate(req *http.Request) (string, func(context.Context, ldp.Path) error, error) {
	agent, err := a.authn.Authenticate(req)
	if err != nil {
		return "", nil, err
	}
	return agent.WebID, a.canRead(agent, req.Header.Get("Origin")), nil
}

func (a notificationAccess) Legacy(req *http.Request) func(context.Context, ldp.Path) error {
	origin := req.Header.Get("Origin")
	anonymous := a.canRead(Agent{}, origin)
	agent, until, ok := a.tickets.agent(req.URL.Query().Get("ticket"))
	if !ok {
		return anonymous
	}
	asAgent := a.canRead(agent, origin)
	return func(ctx context.Context, p ldp.Path) error {
		if !a.tickets.now().Before(until) {
			return anonymous(ctx, p)
		}
		return asAgent(ctx, p)
	}
}

// canRead asks the permission seam whether agent may read p now: nil, or
// the refusal (ErrUnauthenticated, ErrForbidden).
func (a notificationAccess) canRead(agent Agent, origin string) func(context.Context, ldp.Path) error {
	return func(ctx context.Context, p ldp.Path) error {
		if a.logs != nil {
			if _, _, owner, ok := a.logs.logPath(ctx, p); ok {
				// A pod's access log: its owner's only (accesslog.go).
				switch {
				case agent.WebID == owner && agent.Grant == "":
					return nil
				case agent.Anonymous():
					return ErrUnauthenticated
				}
				return ErrForbidden
			}
		}
		_, err := a.store.Backend().Stat(ctx, p.Key())
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		_, err = a.perms.Check(ctx, agent, Operation{Method: http.MethodGet, Path: p, Exists: err == nil, Origin: origin})
		return err
	}
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
