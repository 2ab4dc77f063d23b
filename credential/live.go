package credential

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Defaults of Config's bounds on live credentials.
const (
	// DefaultMaxRequestsPerRequestor bounds the live requests one agent
	// has asked for.
	DefaultMaxRequestsPerRequestor = 100
	// DefaultMaxRequestsPerOwner bounds the live requests addressed to one
	// person (isConsentForDataSubject).
	DefaultMaxRequestsPerOwner = 1000
	// DefaultMaxGrantsPerOwner bounds the active grants one person has
	// given.
	DefaultMaxGrantsPerOwner = 1000
)

// prefixLive indexes the live credentials of each party by role:
//
//	sys/consent/live/<role>/<party key>/<credential id>
//
// an empty marker per credential, written after the credential and
// removed when it ends (revoked, cancelled, answered, expired). A role's
// listing is what a cap counts and what Active reads, so their work
// grows with what is live for that party, never with every credential it
// was ever a party to (those stay in the party index, for Query and
// Derive). A marker whose credential has ended but is still listed (its
// removal failed, or it expired since the last sweep) is removed by the
// first listing that meets it.
const prefixLive = "sys/consent/live/"

// RequestHold is the least time a request holds its place among its
// requestor's live requests, even once cancelled, answered or expired:
// so the bound on an agent's live requests is also a bound on the
// requests it makes Kluis issue and store per RequestHold (an agent that
// cancels at once cannot issue more).
const RequestHold = 24 * time.Hour

// The roles of the live index.
const (
	roleAsks  = "asks"  // the requestor of a live request
	roleAsked = "asked" // the owner a live request is addressed to
	roleHolds = "holds" // the grantee of an active grant (Active)
	roleGives = "gives" // the owner of an active grant
)

type liveEntry struct{ role, party string }

// liveRoles are the entries of acc in the live index: a request is live
// for its requestor and its owner, a grant (given) for its grantee and
// its owner; denials are never live.
func liveRoles(acc *Access) []liveEntry {
	var out []liveEntry
	switch {
	case acc.Kind == Request:
		out = append(out, liveEntry{roleAsks, acc.Requestor})
		if acc.Owner != "" {
			out = append(out, liveEntry{roleAsked, acc.Owner})
		}
	case acc.Kind == Grant && acc.Status == StatusGiven:
		out = append(out, liveEntry{roleHolds, acc.Requestor}, liveEntry{roleGives, acc.Owner})
	}
	return out
}

func liveKey(e liveEntry, id string) string {
	return prefixLive + e.role + "/" + partyKey(e.party) + "/" + id
}

// capOf is the bound of a role, 0 when it has none.
func (s *Service) capOf(role string) int {
	switch role {
	case roleAsks:
		return s.cfg.MaxRequestsPerRequestor
	case roleAsked:
		return s.cfg.MaxRequestsPerOwner
	case roleGives:
		return s.cfg.MaxGrantsPerOwner
	}
	return 0
}

// checkCaps refuses to issue acc when one of its parties has reached the
// bound of its role. Two issues racing past the count may each succeed:
// the bound can be passed by the number of concurrent issues.
func (s *Service) checkCaps(ctx context.Context, acc *Access) error {
	for _, e := range liveRoles(acc) {
		limit := s.capOf(e.role)
		if limit <= 0 {
			continue
		}
		n := 0
		for _, err := range s.live(ctx, e) {
			if err != nil {
				return err
			}
			if n++; n >= limit {
				return fmt.Errorf("%w: %s has %d live %s; cancel or revoke some, or wait until they expire%s", ErrTooMany, e.party, limit, describeRole(e.role), holdNote(e.role))
			}
		}
	}
	return nil
}

func holdNote(role string) string {
	if role == roleAsks {
		return " (a request counts for at least a day)"
	}
	return ""
}

func describeRole(role string) string {
	switch role {
	case roleAsks:
		return "access requests of its own"
	case roleAsked:
		return "access requests addressed to it"
	}
	return "access grants given"
}

// addLive writes acc's markers in the live index.
func (s *Service) addLive(ctx context.Context, acc *Access, id string) error {
	// The grantee's kept list is dropped once the markers are written, so
	// that no listing made before them outlives this call.
	defer s.forgetActive(acc.Requestor)
	for _, e := range liveRoles(acc) {
		if _, err := s.cfg.Store.Put(ctx, liveKey(e, id), strings.NewReader(""), storage.PutOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// dropLive removes acc's markers, except its requestor's of a request,
// which a listing removes once RequestHold has passed; a failure leaves a
// marker that the next listing removes.
func (s *Service) dropLive(ctx context.Context, acc *Access) {
	s.forgetActive(acc.Requestor)
	id, ok := strings.CutPrefix(acc.ID, s.cfg.Base+"vc/")
	if !ok {
		return
	}
	for _, e := range liveRoles(acc) {
		if e.role == roleAsks {
			continue
		}
		_ = s.cfg.Store.Delete(ctx, liveKey(e, id), storage.DeleteOptions{})
	}
}

// live yields the credentials live for e, removing the markers of those
// that have ended.
func (s *Service) live(ctx context.Context, e liveEntry) func(yield func(*Access, error) bool) {
	return func(yield func(*Access, error) bool) {
		now := s.now()
		for info, err := range s.cfg.Store.List(ctx, prefixLive+e.role+"/"+partyKey(e.party)+"/") {
			if err != nil {
				yield(nil, err)
				return
			}
			if info.IsPrefix {
				continue
			}
			st, err := s.load(ctx, s.cfg.Base+"vc/"+info.Key[strings.LastIndexByte(info.Key, '/')+1:])
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				yield(nil, err)
				return
			}
			acc := st.access
			ended := !acc.Expires.IsZero() && !now.Before(acc.Expires)
			if !ended {
				if ended, err = s.Revoked(ctx, acc.ID); err != nil {
					yield(nil, err)
					return
				}
			}
			if !ended && acc.Kind == Request {
				ended = s.answered(ctx, acc.ID)
			}
			if ended && e.role == roleAsks && now.Before(acc.Issued.Add(RequestHold)) {
				ended = false // holds its requestor's place (RequestHold)
			}
			if ended {
				_ = s.cfg.Store.Delete(ctx, info.Key, storage.DeleteOptions{})
				continue
			}
			if !yield(acc, nil) {
				return
			}
		}
	}
}

// answered reports whether the request iri has been answered.
func (s *Service) answered(ctx context.Context, iri string) bool {
	_, err := s.cfg.Store.Stat(ctx, prefixAnswer+strings.TrimPrefix(iri, s.cfg.Base+"vc/"))
	return err == nil
}

// Active returns the grants given to webID that are valid now and not
// revoked, for the plain-LDP way of using a grant. It reads the live
// index of webID's grants, so its work grows with the grants active for
// webID, not with the credentials webID was ever a party to: the access
// control calls it on every request it refuses.
//
// The listing is kept for ActiveListTTL (at most maxActiveListed agents)
// and dropped when this process issues or ends a grant of webID; the
// validity and the status of every grant are checked at every call, from
// storage. So a revocation holds at the next request in every process,
// and a grant issued through another process is used there within
// ActiveListTTL.
func (s *Service) Active(ctx context.Context, webID string) ([]*Access, error) {
	now := s.now()
	listed, gen, ok := s.listedActive(webID, now)
	if !ok {
		listed = nil
		for acc, err := range s.live(ctx, liveEntry{roleHolds, webID}) {
			if err != nil {
				return nil, err
			}
			if acc.Kind == Grant && acc.Status == StatusGiven && acc.Requestor == webID {
				listed = append(listed, acc)
			}
		}
		s.keepActive(webID, listed, now, gen)
		return slices.DeleteFunc(slices.Clone(listed), func(a *Access) bool { return !a.ValidAt(now) }), nil
	}
	var out []*Access
	for _, acc := range listed {
		if !acc.ValidAt(now) {
			continue
		}
		if revoked, err := s.Revoked(ctx, acc.ID); err != nil {
			return nil, err
		} else if revoked {
			continue
		}
		out = append(out, acc)
	}
	return out, nil
}

// ActiveListTTL is how long a process keeps an agent's list of active
// grants (Active): the delay before a grant issued through another
// process is used in this one. Revocation and expiry are never delayed.
const ActiveListTTL = 5 * time.Second

// maxActiveListed bounds the agents whose lists are kept.
const maxActiveListed = 4096

type activeList struct {
	grants []*Access
	until  time.Time
}

// listedActive returns webID's kept list, or the generation of the
// lists to give keepActive with a list read now.
func (s *Service) listedActive(webID string, now time.Time) ([]*Access, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.actives[webID]
	if !ok || !now.Before(l.until) {
		return nil, s.activeGen, false
	}
	return l.grants, s.activeGen, true
}

// keepActive keeps a list read since generation gen, unless a grant
// changed in this process meanwhile (the list may miss it).
func (s *Service) keepActive(webID string, grants []*Access, now time.Time, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.activeGen {
		return
	}
	if len(s.actives) >= maxActiveListed {
		for k := range s.actives { // drop one at random
			delete(s.actives, k)
			break
		}
	}
	s.actives[webID] = activeList{grants: grants, until: now.Add(ActiveListTTL)}
}

// forgetActive drops the list of webID's active grants.
func (s *Service) forgetActive(webID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.actives, webID)
	s.activeGen++
}

// keyIndexed marks that the credentials issued before the live and
// retention indexes existed have been indexed (IndexEarlier).
const keyIndexed = "sys/consent/indexed-v1"

// IndexEarlier adds the credentials stored before the live index and the
// retention index existed to both, once per storage: a server started on
// such a storage would otherwise not see their grants (Active), count them
// (the bounds) or ever delete them (Retention). It reads every stored
// credential, once; a marker says it is done, so later starts read one
// object. Processes starting together may each run it: every write is
// the same.
func (s *Service) IndexEarlier(ctx context.Context) error {
	if _, err := s.cfg.Store.Stat(ctx, keyIndexed); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	for info, err := range s.cfg.Store.List(ctx, prefixCredentials) {
		if err != nil {
			return err
		}
		if info.IsPrefix {
			continue
		}
		id := info.Key[strings.LastIndexByte(info.Key, '/')+1:]
		st, err := s.load(ctx, s.cfg.Base+"vc/"+id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		acc := st.access
		if !acc.Expires.IsZero() {
			if err := s.forgets().Add(ctx, acc.Expires.Add(Retention), id); err != nil {
				return err
			}
		}
		at, err := s.revokedAt(ctx, acc.ID)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			if err := s.forgets().Add(ctx, at.Add(Retention), id); err != nil {
				return err
			}
			continue
		}
		if !acc.Expires.IsZero() && !s.now().Before(acc.Expires) {
			continue
		}
		if acc.Kind == Request && s.answered(ctx, acc.ID) {
			continue
		}
		if err := s.addLive(ctx, acc, id); err != nil {
			return err
		}
	}
	_, err := s.cfg.Store.Put(ctx, keyIndexed, strings.NewReader(s.now().UTC().Format(time.RFC3339)), storage.PutOptions{ContentType: "text/plain"})
	return err
}
