package notify

import (
	"encoding/json"
	"slices"
)

// The notification gateway is the discovery and negotiation that
// @inrupt/solid-client-notifications performs when connect() is called
// without an endpoint, and that Inrupt's Enterprise Solid Server answers.
// It is no part of the Solid Notifications Protocol; Kluis serves it so
// that apps built on that library need no configuration, and it ends in
// an ordinary WebSocketChannel2023 channel:
//
//  1. The client reads solid:notificationGateway from <origin>/.well-known/solid
//     (GatewayPredicate; server serves that document).
//  2. It POSTs {"protocols": ["ws"], "features": [...]} to the gateway and
//     reads "endpoint" from the answer (Negotiate).
//  3. It POSTs {"topic": ..., <feature>: <value>...} to that endpoint,
//     authenticated as the subscriber, and reads "endpoint" (where to open
//     the WebSocket) and "subprotocol" (none here) from the answer
//     (ParseGatewayRequest, then Service.Subscribe, then GatewayAnswer).
//  4. It opens the WebSocket and parses each text message as JSON: the
//     notifications of WebSocketChannel2023.
const (
	// GatewayPredicate names the gateway in the discovery document.
	GatewayPredicate = "http://www.w3.org/ns/solid/terms#notificationGateway"
	// GatewayPath is the gateway, below the server root.
	GatewayPath = Prefix + "gateway"
	// GatewayWebSocketPath is where the gateway sends clients that asked
	// for the "ws" protocol.
	GatewayWebSocketPath = Prefix + "gateway/ws"
	// gatewayWS is the gateway's name of WebSocketChannel2023.
	gatewayWS = "ws"
)

// GatewayIRI is the IRI of the notification gateway.
func (s *Service) GatewayIRI() string { return s.base + GatewayPath[1:] }

// Negotiate answers a gateway request: a JSON object whose "protocols"
// list must hold "ws", the one protocol offered. "features" names the
// features the client wants; the answer lists those of them that the
// WebSocket endpoint supports. A request that is no such object, or that
// does not ask for "ws", is a *RequestError.
func (s *Service) Negotiate(data []byte) (map[string]any, error) {
	if len(data) > maxRequestBytes {
		return nil, &RequestError{Reason: "larger than 64 KiB"}
	}
	var req struct {
		Protocols []string `json:"protocols"`
		Features  []string `json:"features"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, &RequestError{Reason: `not a JSON object with "protocols" and "features" lists`}
	}
	if !slices.Contains(req.Protocols, gatewayWS) {
		return nil, &RequestError{Reason: `the gateway offers the "ws" protocol only`}
	}
	features := []string{}
	for _, f := range req.Features {
		if slices.Contains(Features[:], f) && !slices.Contains(features, f) {
			features = append(features, f)
		}
	}
	return map[string]any{
		"protocol": gatewayWS,
		"endpoint": s.base + GatewayWebSocketPath[1:],
		"features": features,
	}, nil
}

// ParseGatewayRequest reads the body of a request to the gateway's "ws"
// endpoint, {"topic": ..., <feature>: <value>...}, as a subscription
// request for a WebSocketChannel2023 channel, with the features of
// ParseRequest.
func ParseGatewayRequest(data []byte) (Request, error) {
	if len(data) > maxRequestBytes {
		return Request{}, &RequestError{Reason: "larger than 64 KiB"}
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return Request{}, &RequestError{Reason: "not a JSON object"}
	}
	// The gateway's requests have no JSON-LD context and no type: they
	// are plain JSON, for one channel type.
	delete(doc, "@context")
	delete(doc, "@type")
	doc["type"] = json.RawMessage(`"` + string(WebSocket) + `"`)
	rebuilt, err := json.Marshal(doc)
	if err != nil {
		return Request{}, &RequestError{Reason: "not a JSON object"}
	}
	return ParseRequest(rebuilt)
}

// GatewayAnswer is the answer of the gateway's "ws" endpoint for a
// channel: "endpoint" is its receiveFrom. No "subprotocol": the client
// then asks for none, and the WebSocket is that of WebSocketChannel2023.
// The channel's id is there too, for a DELETE that unsubscribes before
// the WebSocket is opened.
func (ch *Channel) GatewayAnswer() map[string]any {
	d := ch.Description()
	d["protocol"] = gatewayWS
	d["endpoint"] = ch.ReceiveFrom
	return d
}
