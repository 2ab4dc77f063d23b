package credential

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
)

// prefixAnswer records, for a request, the grant or denial that answers
// it ("sys/consent/answer/<request id>" holds the answer's IRI).
const prefixAnswer = "sys/consent/answer/"

// Query is a filter of the query service, as @inrupt/solid-client-access-
// grants sends it (query(), paginatedQuery()): every field is optional.
type Query struct {
	Type Kind
	// Status is Pending, Denied, Granted, Canceled or Expired for
	// requests; Active, Revoked or Expired for grants.
	Status            string
	FromAgent         string // the party that issued the credential
	ToAgent           string // the other party
	Resource, Purpose string
	IssuedWithin      time.Duration
	RevokedWithin     time.Duration
	PageSize          int
	Page              int // 0-based
}

// DefaultPageSize and MaxPageSize bound a query's page.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ISODuration reads the durations the library offers (P1D, P7D, P1M,
// P3M).
func ISODuration(s string) (time.Duration, error) {
	switch s {
	case "P1D":
		return 24 * time.Hour, nil
	case "P7D":
		return 7 * 24 * time.Hour, nil
	case "P1M":
		return 31 * 24 * time.Hour, nil
	case "P3M":
		return 92 * 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("%w: duration %.20q (P1D, P7D, P1M or P3M)", ErrInvalid, s)
}

// QueryResult is one page of a query.
type QueryResult struct {
	Items []map[string]any
	// Pages is the number of pages; Page the one returned.
	Page, Pages int
}

// Query returns a's credentials that match q, newest first, one page.
func (s *Service) Query(ctx context.Context, a Agent, q Query) (QueryResult, error) {
	if a.WebID == "" {
		return QueryResult{}, ErrUnauthenticated
	}
	size := q.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	now := s.now()
	var hits []hit
	for st, err := range s.partyCredentials(ctx, a.WebID) {
		if err != nil {
			return QueryResult{}, err
		}
		ok, err := s.matches(ctx, st.access, q, now)
		if err != nil {
			return QueryResult{}, err
		}
		if ok {
			hits = append(hits, hit{st.doc, st.access.Issued})
		}
		if len(hits) >= 10000 {
			break
		}
	}
	sortNewestFirst(hits)
	res := QueryResult{Page: q.Page, Pages: max(1, (len(hits)+size-1)/size)}
	for i := q.Page * size; i < len(hits) && i < (q.Page+1)*size; i++ {
		res.Items = append(res.Items, hits[i].doc)
	}
	return res, nil
}

func (s *Service) matches(ctx context.Context, acc *Access, q Query, now time.Time) (bool, error) {
	to := acc.Requestor
	if acc.Kind == Request {
		to = acc.Owner
	}
	switch {
	case q.Type != "" && acc.Kind != q.Type,
		q.FromAgent != "" && acc.Subject != q.FromAgent,
		q.ToAgent != "" && to != q.ToAgent,
		q.Resource != "" && !slices.Contains(acc.Resources, q.Resource),
		q.Purpose != "" && !slices.Contains(acc.Purposes, q.Purpose),
		q.IssuedWithin > 0 && acc.Issued.Before(now.Add(-q.IssuedWithin)):
		return false, nil
	}
	if q.Status == "" && q.RevokedWithin == 0 {
		return true, nil
	}
	revokedAt, err := s.revokedAt(ctx, acc.ID)
	if err != nil {
		return false, err
	}
	if q.RevokedWithin > 0 && (revokedAt.IsZero() || revokedAt.Before(now.Add(-q.RevokedWithin))) {
		return false, nil
	}
	if q.Status == "" {
		return true, nil
	}
	return s.status(ctx, acc, revokedAt, now) == q.Status, nil
}

// status is the state of a credential in the query service's words.
func (s *Service) status(ctx context.Context, acc *Access, revokedAt, now time.Time) string {
	expired := !acc.Expires.IsZero() && !now.Before(acc.Expires)
	if acc.Kind != Request {
		switch {
		case !revokedAt.IsZero():
			return "Revoked"
		case expired:
			return "Expired"
		}
		return "Active"
	}
	if !revokedAt.IsZero() {
		return "Canceled"
	}
	if answer := s.answer(ctx, acc.ID); answer != nil {
		if answer.Kind == Grant && answer.Status == StatusGiven {
			return "Granted"
		}
		return "Denied"
	}
	if expired {
		return "Expired"
	}
	return "Pending"
}

// revokedAt is when the credential was revoked or cancelled, zero when
// it was not.
func (s *Service) revokedAt(ctx context.Context, iri string) (time.Time, error) {
	id := strings.TrimPrefix(iri, s.cfg.Base+"vc/")
	rc, _, err := s.cfg.Store.Get(ctx, prefixStatus+id, storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	defer rc.Close()
	raw, _ := io.ReadAll(io.LimitReader(rc, 100))
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(raw)))
	if err != nil {
		return time.Unix(0, 0), nil // revoked, when unknown
	}
	return t, nil
}

// answer is the grant or denial answering the request iri, nil when none.
func (s *Service) answer(ctx context.Context, iri string) *Access {
	id := strings.TrimPrefix(iri, s.cfg.Base+"vc/")
	rc, _, err := s.cfg.Store.Get(ctx, prefixAnswer+id, storage.GetOptions{})
	if err != nil {
		return nil
	}
	defer rc.Close()
	raw, _ := io.ReadAll(io.LimitReader(rc, 4096))
	st, err := s.load(ctx, string(bytes.TrimSpace(raw)))
	if err != nil {
		return nil
	}
	return st.access
}

// recordAnswer notes that acc (a grant or denial) answers its request.
func (s *Service) recordAnswer(ctx context.Context, acc *Access) error {
	id, ok := strings.CutPrefix(acc.Request, s.cfg.Base+"vc/")
	if !ok || id == "" || strings.ContainsAny(id, "/?#") || len(id) > 64 {
		return nil
	}
	// Only an answer between the request's parties counts.
	req, err := s.load(ctx, acc.Request)
	if err != nil || req.access.Kind != Request || req.access.Requestor != acc.Requestor {
		return nil
	}
	if _, err = s.cfg.Store.Put(ctx, prefixAnswer+id, strings.NewReader(acc.ID), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		return err
	}
	s.dropLive(ctx, req.access) // answered: no longer live
	return nil
}

// PageString and ParsePage keep page tokens opaque to the client.
func PageString(n int) string { return strconv.Itoa(n) }

// ParsePage reads a page token.
func ParsePage(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1000 {
		return 0, fmt.Errorf("%w: page", ErrInvalid)
	}
	return n, nil
}

// prefixExpired marks the credentials whose expiry has been told
// (OnChange "expired"), so that it is told once.
const prefixExpired = "sys/consent/expired/"

// SweepExpired tells OnChange ("expired") of every credential that has
// expired since the last sweep and was not revoked or cancelled before,
// once across all processes (a conditional write marks it). It returns
// how many it told of; the server's housekeeping runs it.
//
// It reads only the credentials whose expiry hour has begun, through the
// expiry index that Issue writes (storage/expiry): its work grows with
// what expired, not with every credential the server holds (issue 19).
// It then deletes the credentials ended more than Retention ago
// (forget.go), through an index of the same kind.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	n, err := s.sweepExpired(ctx)
	if _, ferr := s.sweepForgotten(ctx); err == nil {
		err = ferr
	}
	return n, err
}

func (s *Service) sweepExpired(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.expiries().Sweep(ctx, now, func(ctx context.Context, id string) (bool, error) {
		st, err := s.load(ctx, s.cfg.Base+"vc/"+id)
		if errors.Is(err, ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		acc := st.access
		if acc.Expires.IsZero() {
			return true, nil
		}
		if now.Before(acc.Expires) {
			return false, nil // later in this hour
		}
		if _, err := s.cfg.Store.Stat(ctx, prefixExpired+id); err == nil {
			return true, nil // told already
		}
		if revoked, err := s.Revoked(ctx, acc.ID); err != nil {
			return false, err
		} else if revoked {
			return true, nil // it ended by revocation, which was told
		}
		_, err = s.cfg.Store.Put(ctx, prefixExpired+id, strings.NewReader(now.UTC().Format(time.RFC3339)), storage.PutOptions{ContentType: "text/plain", IfNoneMatch: true})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			return true, nil // another process tells it
		}
		if err != nil {
			return false, err
		}
		s.dropLive(ctx, acc)
		if s.cfg.OnChange != nil {
			s.cfg.OnChange(ctx, acc, "expired")
		}
		n++
		return true, nil
	})
	return n, err
}

// prefixExpiries is the expiry index of the credentials: a marker per
// credential under the hour it expires.
const prefixExpiries = "sys/consent/expiries/"

func (s *Service) expiries() expiry.Index {
	return expiry.Index{Backend: s.cfg.Store, Prefix: prefixExpiries}
}
