package storage

import (
	"context"
	"errors"
	"fmt"
)

// DeleteTree deletes every object below prefix (which ends in "/"),
// deepest first: the objects of each level, then the level's own key (a
// container's marker, which may be absent). Objects already gone are no
// error. Each level's listing is read whole before anything is deleted,
// so that no backend is asked to page on while its keys change.
func DeleteTree(ctx context.Context, b Backend, prefix string) error {
	var keys, levels []string
	for info, err := range b.List(ctx, prefix) {
		if err != nil {
			return err
		}
		if info.IsPrefix {
			levels = append(levels, info.Key)
		} else {
			keys = append(keys, info.Key)
		}
	}
	for _, level := range levels {
		if err := DeleteTree(ctx, b, level); err != nil {
			return err
		}
		keys = append(keys, level)
	}
	for _, key := range keys {
		if err := b.Delete(ctx, key, DeleteOptions{}); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}
