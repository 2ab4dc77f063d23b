package accesslog

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of a read.
const (
	// MaxPage is the most entries a page holds; DefaultPage those it
	// holds when the query says nothing.
	MaxPage     = 500
	DefaultPage = 100
	// MaxSegmentsPerPage bounds the segments one page reads: a page
	// whose filters match little ends early with a cursor to go on.
	MaxSegmentsPerPage = 64
)

// ErrBadCursor is a cursor this package did not make.
var ErrBadCursor = errors.New("accesslog: bad cursor")

// Query selects entries, newest first.
type Query struct {
	// Agent keeps the entries of this WebID only ("" every agent).
	Agent string
	// Resource keeps the entries of this IRI and, when it ends in "/",
	// of the resources under it ("" every resource).
	Resource string
	// From and To keep the entries in [From, To); zero is unbounded.
	From, To time.Time
	// Cursor is where the previous page ended ("" the newest).
	Cursor string
	// Limit is the most entries returned: DefaultPage when zero, at
	// most MaxPage.
	Limit int
}

// Stored is an entry as read, with its ID: "<process>-<seq>-<index>",
// unique in the pod's log.
type Stored struct {
	ID string
	Entry
}

// position orders entries: newest first, then by ID, descending.
type position struct {
	t  int64
	id string
}

func (p position) before(q position) bool { // p comes after q in the log's order
	return p.t < q.t || p.t == q.t && p.id < q.id
}

func (p position) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.t, 10) + "." + p.id))
}

func parseCursor(c string) (position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return position{}, ErrBadCursor
	}
	t, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(t, 10, 64)
	if !ok || err != nil {
		return position{}, ErrBadCursor
	}
	return position{n, id}, nil
}

// top is above every position of an entry.
const top = "\x7f"

func entryID(process string, seq uint64, i int) string {
	return fmt.Sprintf("%s-%010d-%06d", process, seq, i)
}

// Read returns a page of pod's log, newest first, and the cursor of the
// next page ("" at the end). Its work is bounded: it lists the pod's
// hours and those of the hours it reaches, and reads at most
// MaxSegmentsPerPage segments, skipping by their names those the page
// does not need.
func (l *Log) Read(ctx context.Context, pod string, q Query) ([]Stored, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPage
	}
	limit = min(limit, MaxPage)
	upper := position{t: maxNano, id: top}
	if q.Cursor != "" {
		var err error
		if upper, err = parseCursor(q.Cursor); err != nil {
			return nil, "", err
		}
	}
	if !q.To.IsZero() {
		if to := (position{t: q.To.UnixNano(), id: ""}); to.before(upper) {
			upper = to // strictly before To
		}
	}
	var from int64 = -1 << 63
	if !q.From.IsZero() {
		from = q.From.UnixNano()
	}
	hours, err := l.hours(ctx, pod)
	if err != nil {
		return nil, "", err
	}
	var cands []Stored
	var pos []position
	final := func(bound int64) int { // candidates that no unread segment can precede
		n := 0
		for _, p := range pos {
			if p.t > bound {
				n++
			}
		}
		return n
	}
	read := 0
	stopped := false
	var stopAt int64
scan:
	for _, h := range hours {
		if h*3600*1e9 > upper.t {
			continue // every entry of the hour is after the cursor
		}
		if (h+1)*3600*1e9 <= from {
			break // this hour and all older ones are before From
		}
		segs, err := l.segments(ctx, pod, h)
		if err != nil {
			return nil, "", err
		}
		for _, s := range segs {
			if s.oldest > upper.t || s.newest < from {
				continue
			}
			if final(s.newest) >= limit {
				break scan
			}
			if read >= MaxSegmentsPerPage {
				stopped, stopAt = true, s.newest
				break scan
			}
			read++
			seg, err := l.readSegment(ctx, s.key)
			if err != nil {
				return nil, "", err
			}
			for i, raw := range seg.Entries {
				var r record
				if json.Unmarshal(raw, &r) != nil {
					continue // verification tells; a page shows what it can
				}
				p := position{r.T, entryID(s.process, s.seq, i)}
				if !p.before(upper) || r.T < from || !q.matches(&r) {
					continue
				}
				cands = append(cands, Stored{ID: p.id, Entry: r.entry()})
				pos = append(pos, p)
			}
		}
	}
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(pos[b].t, pos[a].t), strings.Compare(pos[b].id, pos[a].id))
	})
	var page []Stored
	var last position
	for _, i := range idx {
		if len(page) == limit || stopped && pos[i].t <= stopAt {
			break
		}
		page = append(page, cands[i])
		last = pos[i]
	}
	switch {
	case stopped && len(page) < limit:
		// The segment budget ran out: go on from the first unread one.
		return page, position{t: stopAt, id: top}.cursor(), nil
	case len(page) == limit:
		// More may follow (the last page may then be empty).
		return page, last.cursor(), nil
	}
	return page, "", nil
}

func (q *Query) matches(r *record) bool {
	if q.Agent != "" && r.Agent != q.Agent {
		return false
	}
	if q.Resource != "" && r.Resource != q.Resource && !(strings.HasSuffix(q.Resource, "/") && strings.HasPrefix(r.Resource, q.Resource)) {
		return false
	}
	return true
}
