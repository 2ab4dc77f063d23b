// Package notifications is the HTTP room of Solid Notifications: the
// subscription services under /.notifications/ (WebSocketChannel2023,
// StreamingHTTPChannel2023, WebhookChannel2023), unsubscribing, the
// WebSockets and streams of the channels, the notification gateway of
// @inrupt/solid-client-notifications, and the legacy solid-0.1 WebSocket
// that the Updates-Via header names. The protocol itself, with channels,
// queues, limits and deliveries, is server/notify's, which knows no HTTP
// framework; this package is its routes.
//
// Its Handler is a plain struct of its dependencies (the notify.Service,
// the ldp.Store of the topics, and Access: the server's authentication
// and authorization of every request, which it declares as the small
// interface it needs) and adds its routes with Mount. Package server
// builds the Service, feeds it the store's changes, adapts its
// Authenticator and Permissions to Access, and mounts the Handler.
//
// The routes follow the rule of issue 14 like the other audiences: they
// serve one audience (apps that subscribe), and no request to a resource
// passes through them, so they are not server's. Subscribing is still
// authorized with the seams every request passes.
//
// It may import echo, ldp, storage, server/notify, server/problem and
// server/request; never package server or another audience's
// subpackage.
package notifications
