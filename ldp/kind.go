package ldp

import (
	"context"
	"errors"
	"fmt"

	"github.com/weconomics/kluis/storage"
)

// Kind tells what the resource at p is, from one look at its object (a
// Stat), without reading it: a container, an RDF source (the description
// and ACL resources and the storage description are), or a non-RDF
// resource. A missing resource is an error wrapping storage.ErrNotFound.
func (s *Store) Kind(ctx context.Context, p Path) (Kind, error) {
	if p.IsContainer() {
		if !s.exists(ctx, p) {
			return Missing, fmt.Errorf("ldp: %s: %w", p, storage.ErrNotFound)
		}
		return Container, nil
	}
	if pl, err := s.locate(ctx, p); err != nil {
		return Missing, fmt.Errorf("ldp: %s: %w", p, err)
	} else if pl.ok && p == pl.description() {
		return RDFSource, nil
	}
	info, err := s.backend.Stat(ctx, p.Key())
	if errors.Is(err, storage.ErrNotFound) {
		st, _, verr := s.virtualState(ctx, p)
		if verr != nil {
			return Missing, fmt.Errorf("ldp: %s: %w", p, verr)
		}
		if st.exists {
			return RDFSource, nil
		}
	}
	if err != nil {
		return Missing, fmt.Errorf("ldp: %s: %w", p, err)
	}
	if isTurtle(info.ContentType) {
		return RDFSource, nil
	}
	return NonRDF, nil
}
