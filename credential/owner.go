package credential

import (
	"context"
	"slices"
	"time"
)

// Owned is one credential about a person's data, as their access page
// lists it: the credential and its state now.
type Owned struct {
	Access *Access
	// State is the query service's word for it: Pending, Granted,
	// Denied, Canceled or Expired for a request; Active, Revoked or
	// Expired for a grant or denial.
	State string
	// Changed is when it was revoked or cancelled (zero when it was
	// not).
	Changed time.Time
}

// MaxOwned bounds how many credentials Owner reads in one call.
const MaxOwned = 2000

// Owner returns the credentials whose data subject is webID (the
// requests addressed to them, the grants and denials they issued), newest
// first, reading at most limit of them (at most MaxOwned; more says
// whether some were left unread). Requests that name no data subject are
// not indexed under any owner and are not returned.
func (s *Service) Owner(ctx context.Context, webID string, limit int) (out []Owned, more bool, err error) {
	if webID == "" {
		return nil, false, ErrUnauthenticated
	}
	if limit <= 0 || limit > MaxOwned {
		limit = MaxOwned
	}
	now := s.now()
	read := 0
	for st, err := range s.partyCredentials(ctx, webID) {
		if err != nil {
			return nil, false, err
		}
		if read++; read > limit {
			more = true
			break
		}
		acc := st.access
		if acc.Owner != webID {
			continue
		}
		revokedAt, err := s.revokedAt(ctx, acc.ID)
		if err != nil {
			return nil, false, err
		}
		out = append(out, Owned{Access: acc, State: s.status(ctx, acc, revokedAt, now), Changed: revokedAt})
	}
	sortOwned(out)
	return out, more, nil
}

func sortOwned(xs []Owned) {
	slices.SortStableFunc(xs, func(x, y Owned) int { return y.Access.Issued.Compare(x.Access.Issued) })
}
