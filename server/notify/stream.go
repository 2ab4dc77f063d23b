package notify

import (
	"context"
	"net/http"
	"time"
)

// ServeStream serves the receiveFrom of a StreamingHTTPChannel2023
// channel: a GET with the channel's ?auth= token gets a response that
// never ends while the channel lives, each notification a JSON-LD object
// followed by a line feed, flushed at once. Before the response begins it
// returns ErrUnknownChannel or ErrChannelInUse for server to answer.
func (s *Service) ServeStream(w http.ResponseWriter, r *http.Request) error {
	ch, ctx, err := s.open(r.Context(), r.URL.Query().Get("auth"), StreamingHTTP)
	if err != nil {
		return err
	}
	defer s.done(ch)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "application/ld+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	_ = s.run(ctx, ch, func(ctx context.Context, e Event) error {
		_ = rc.SetWriteDeadline(time.Now().Add(s.limits.WriteTimeout))
		if _, err := w.Write(append(e.JSON(), '\n')); err != nil {
			return err
		}
		return rc.Flush()
	}, nil)
	return nil
}
