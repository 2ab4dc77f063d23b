package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// runWebhook delivers a webhook channel's notifications until it ends,
// then forgets it.
func (s *Service) runWebhook(ctx context.Context, ch *Channel) {
	defer s.done(ch)
	err := s.run(ctx, ch, func(ctx context.Context, e Event) error {
		return s.post(ctx, ch.SendTo, e.JSON())
	}, nil)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errExpired) {
		// Neither sendTo nor the channel id is logged: both are the
		// subscriber's secrets.
		s.logger.Info("notifications: webhook channel dropped", "reason", err.Error())
	}
}

// post sends one notification to a webhook (WebhookChannel2023 §2), with
// up to WebhookAttempts tries, waiting WebhookBackoff, then twice as long
// each time, between them. Any 2xx answer is success.
//
// WebhookChannel2023 §3: the sender "MUST perform authenticated request to
// sendTo webhook endpoint, using identity provided as sender". With
// Config.WebhookAuth (a server with its identity provider) each POST
// carries a DPoP-bound token and proof of the Sender WebID, which the
// receiver verifies like any Solid-OIDC request; without it, the POST is
// unauthenticated.
func (s *Service) post(ctx context.Context, sendTo string, body []byte) error {
	var last error
	for attempt := range s.limits.WebhookAttempts {
		if attempt > 0 {
			if err := s.cfg.Sleep(ctx, s.limits.WebhookBackoff<<(attempt-1)); err != nil {
				return err
			}
		}
		if last = s.postOnce(ctx, sendTo, body); last == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %w", errDeliveryFailed, last)
}

func (s *Service) postOnce(ctx context.Context, sendTo string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.limits.WriteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sendTo, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/ld+json")
	if s.cfg.WebhookAuth != nil {
		h, err := s.cfg.WebhookAuth(ctx, http.MethodPost, sendTo)
		if err != nil {
			return fmt.Errorf("notify: authenticating the webhook request: %w", err)
		}
		for k, v := range h {
			req.Header[k] = v
		}
	}
	res, err := s.cfg.Webhooks.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("notify: webhook answered %d", res.StatusCode)
	}
	return nil
}
