// Package notify is Kluis's side of the Solid Notifications Protocol
// (../shared/specs/solid-notifications-protocol.txt) and of the legacy
// "solid-0.1" WebSocket protocol that SolidOS (mashlib) speaks.
//
// It owns what happens after a write: the change events of ldp become
// Activity Streams 2.0 notifications (event.go), a Broadcaster hands each
// to the subscriptions of its topic (broadcast.go: Hub, in process, with a
// bounded queue per subscriber, a subscriber that falls behind is dropped
// rather than buffered without bound), and a Service keeps the
// notification channels (service.go): subscription requests parsed as
// plain JSON of the known shapes (request.go, no remote JSON-LD context is
// ever fetched), channels with their features (startAt, endAt, rate,
// state, accept), limits per agent, per client address for anonymous
// subscribers (whose channels also end sooner), for all anonymous
// subscribers and per server, and one delivery loop
// per channel that asks again before every notification whether the
// subscriber may still read the topic. The channel types are
// WebSocketChannel2023 and the legacy protocol (websocket.go, over
// github.com/coder/websocket), WebhookChannel2023 (webhook.go, through the
// safe client of webid/fetch) and StreamingHTTPChannel2023 (stream.go).
// gateway.go is the notification gateway that
// @inrupt/solid-client-notifications discovers and negotiates with, which
// ends in a WebSocketChannel2023 channel. The Broadcaster over NATS, for
// several processes, is the subpackage natsbus.
//
// Authentication and Web Access Control stay in package server: a channel
// carries a CanRead function that server builds for the subscriber's agent
// from its Permissions, and server's handlers authenticate subscription
// requests. notify must not import server (server imports it); it imports
// ldp for the change events only. It holds no package-level mutable state,
// and never logs a channel's token, its id or its sendTo URL.
package notify
