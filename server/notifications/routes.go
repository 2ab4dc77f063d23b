package notifications

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
	"github.com/weconomics/kluis/storage"
)

// Access is the server's authentication and authorization of every
// request, as the notification routes need them.
type Access interface {
	// Authenticate finds the agent of req: its WebID ("" for anonymous)
	// and a check, asked anew at each use, of whether that agent, from
	// req's Origin, may read a path (nil, or the refusal: 401, 403).
	Authenticate(req *http.Request) (webID string, canRead func(context.Context, ldp.Path) error, err error)
	// Legacy is that check for a connection to the legacy WebSocket:
	// for the agent of the ticket in req's query that the Updates-Via of
	// an authenticated answer carries, while it holds, else for the
	// anonymous agent; from req's Origin.
	Legacy(req *http.Request) func(context.Context, ldp.Path) error
}

// Handler serves the subscription services, the channels and the
// notification WebSockets and streams.
type Handler struct {
	// Service is the notification service the routes serve.
	Service *notify.Service
	// Store is the resource space whose resources are the topics.
	Store *ldp.Store
	// Access authenticates subscribers and asks whether they may read.
	Access Access
	// Describe, when set, adds to the origin's /.well-known/solid
	// statements about the document doc (such as the consent page of
	// access grants, which clients look for there).
	Describe func(doc string) []rdfx.Triple
}

// Mount adds the notification routes to e: static paths under
// /.notifications/ (and /.well-known/solid when the root is no storage),
// which win over the resource routes' wildcard.
func (n *Handler) Mount(e *echo.Echo) {
	for _, t := range notify.ChannelTypes {
		if !n.Service.Offers(t) {
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
	if _, isStorage, _ := n.Store.StorageDescription(context.Background(), "/"); !isStorage {
		// Pods live below the root: the origin's /.well-known/solid is no
		// storage description, and names the gateway only.
		e.GET(wellKnownSolid, n.discovery)
		e.HEAD(wellKnownSolid, n.discovery)
	}
	e.GET(notify.WebSocketPath, func(c echo.Context) error {
		return n.Service.ServeWebSocket(c.Response(), c.Request())
	})
	e.GET(notify.StreamPath, func(c echo.Context) error {
		return n.Service.ServeStream(c.Response(), c.Request())
	})
	e.GET(notify.LegacyPath, n.legacy)
	// Nothing else under the prefix is a resource.
	e.Any(notify.Prefix+"*", func(echo.Context) error { return storage.ErrNotFound })
}

// jsonLD is the media type of subscription requests and responses.
const jsonLD = "application/ld+json"

// service describes a subscription service (Solid Notifications Protocol
// §3.2): its channel type and features.
func (n *Handler) service(t notify.ChannelType) echo.HandlerFunc {
	return func(c echo.Context) error {
		features := make([]string, len(notify.Features))
		copy(features, notify.Features[:])
		body, err := json.Marshal(map[string]any{
			"@context":    []string{notify.ContextNotifications},
			"id":          n.Service.ServiceIRI(t),
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

func (n *Handler) serviceOptions(c echo.Context) error {
	n.serviceHeaders(c)
	return c.NoContent(http.StatusNoContent)
}

// serviceHeaders are the headers of every answer of a subscription
// service: GET, HEAD, OPTIONS and POST (§2.2: "Subscription Servers MUST
// support the GET, HEAD, OPTIONS, and POST methods").
func (n *Handler) serviceHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Allow", "GET, HEAD, OPTIONS, POST")
	h.Set("Accept-Post", jsonLD)
	h.Add("Vary", "Authorization")
}

// subscribe answers a subscription request (Solid Notifications Protocol
// §2.2) with the channel's description. The subscriber must be allowed to
// Read the topic, as authenticated by this very request (401 or 403
// otherwise); they are asked again before every notification.
func (n *Handler) subscribe(t notify.ChannelType) echo.HandlerFunc {
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
func (n *Handler) open(req *http.Request, sreq notify.Request) (*notify.Channel, error) {
	p, ok := n.Store.PathOf(sreq.Topic)
	if !ok {
		return nil, &notify.RequestError{Reason: "the topic is not a resource on this server"}
	}
	webID, canRead, err := n.Access.Authenticate(req)
	if err != nil {
		return nil, err
	}
	if err := canRead(req.Context(), p); err != nil {
		return nil, err
	}
	return n.Service.Subscribe(sreq, notify.Subscriber{
		Agent:   webID,
		Address: request.ClientAddr(req),
		CanRead: func(ctx context.Context, iri string) bool {
			p, ok := n.Store.PathOf(iri)
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
func (n *Handler) discovery(c echo.Context) error {
	doc := n.Store.IRI(ldp.Path(wellKnownSolid))
	g := rdfx.NewGraph(1)
	g.Add(rdfx.Triple{S: rdfx.IRI(doc), P: rdfx.IRI(notify.GatewayPredicate), O: rdfx.IRI(n.Service.GatewayIRI())})
	if n.Describe != nil {
		for _, t := range n.Describe(doc) {
			g.Add(t)
		}
	}
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
func (n *Handler) gatewayOptions(c echo.Context) error {
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
func (n *Handler) negotiate(c echo.Context) error {
	data, err := readGatewayJSON(c.Request())
	if err != nil {
		return err
	}
	answer, err := n.Service.Negotiate(data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, answer)
}

// gatewayConnect makes a WebSocketChannel2023 channel for the gateway's
// "ws" endpoint, with the same authentication and authorization as a
// subscription request, and answers where to open its WebSocket.
func (n *Handler) gatewayConnect(c echo.Context) error {
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

// state is the ETag a GET of p would answer now, "" when it does not
// exist (the state feature).
func (n *Handler) state(ctx context.Context, p ldp.Path) string {
	rep, err := n.Store.Get(ctx, p, ldp.GetRequest{Accept: "text/turtle", Head: true})
	if err != nil {
		return ""
	}
	rep.Close()
	return rep.ETag
}

// unsubscribe deletes a channel (WebhookChannel2023 §1.1), when the agent
// who made it asks; 404 for anyone else.
func (n *Handler) unsubscribe(c echo.Context) error {
	req := c.Request()
	webID, _, err := n.Access.Authenticate(req)
	if err != nil {
		return err
	}
	id := n.Store.IRI(ldp.Path(notify.ChannelsPath)) + c.Param("id")
	if err := n.Service.Unsubscribe(id, webID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// legacy serves the solid-0.1 WebSocket that Updates-Via names: pub only
// for resources the connection's agent (Access.Legacy) may read, asked at
// each delivery.
func (n *Handler) legacy(c echo.Context) error {
	req := c.Request()
	canRead := n.Access.Legacy(req)
	return n.Service.ServeLegacy(c.Response(), req, c.RealIP(), func(ctx context.Context, iri string) bool {
		p, ok := n.Store.PathOf(iri)
		return ok && canRead(ctx, p) == nil
	})
}
