package accesslog

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
)

// Report is what Verify found in a pod's log.
type Report struct {
	// Segments and Entries count what was read; Chains the processes'
	// chains.
	Segments, Entries, Chains int
	// Problems are the breaks found, in plain words; none means every
	// entry is as it was written, in its place, under a valid signature.
	Problems []string
	// Carried counts the segments whose signature holds only under a key
	// an import carried (the log came from another server), not one this
	// server publishes; From is that log's former pod name.
	Carried int
	From    string
}

// OK reports whether nothing was found.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify reads every segment of pod's log and checks each chain: every
// entry's hash link, each segment's head and its signature against the
// published keys, the sequence numbers of a chain (a gap is a removed
// segment) and that each segment lies under the key its signed content
// names. It reads the whole log: retention bounds it.
func (l *Log) Verify(ctx context.Context, pod string) (Report, error) {
	var rep Report
	hours, err := l.hours(ctx, pod)
	if err != nil {
		return rep, err
	}
	chains := map[string][]segKey{}
	for _, h := range hours {
		segs, err := l.segments(ctx, pod, h)
		if err != nil {
			return rep, err
		}
		for _, s := range segs {
			chains[s.process] = append(chains[s.process], s)
		}
	}
	procs := make([]string, 0, len(chains))
	for p := range chains {
		procs = append(procs, p)
	}
	slices.Sort(procs)
	rep.Chains = len(procs)
	c, err := readCarried(ctx, l.cfg.Backend, pod)
	if err != nil {
		return rep, err
	}
	rep.From = c.Pod
	for _, p := range procs {
		segs := chains[p]
		slices.SortFunc(segs, func(a, b segKey) int { return cmp.Compare(a.seq, b.seq) })
		prevHead := ""
		var prevSeq uint64
		var prevNewest int64
		for i, s := range segs {
			rep.Segments++
			bad := func(format string, args ...any) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("segment %s: ", s.key[len(Prefix):])+fmt.Sprintf(format, args...))
			}
			seg, err := l.readSegment(ctx, s.key)
			if err != nil {
				bad("unreadable: %v", err)
				prevHead = ""
				continue
			}
			rep.Entries += len(seg.Entries)
			if seg.Pod != pod && (c.Pod == "" || seg.Pod != c.Pod) || seg.Process != s.process || seg.Seq != s.seq {
				bad("its content names %s/%s/%d: moved from another place", seg.Pod, seg.Process, seg.Seq)
			}
			if i > 0 && s.seq != prevSeq+1 {
				bad("segments %d to %d of this chain are missing", prevSeq+1, s.seq-1)
				prevHead = ""
			}
			if i > 0 && s.oldest < prevNewest {
				bad("older than the segment before it in its chain")
			}
			expect := prevHead
			var first, last int64
			for j, raw := range seg.Entries {
				var r record
				if err := json.Unmarshal(raw, &r); err != nil {
					bad("entry %d unreadable", j)
					expect = hashOf(raw)
					continue
				}
				if j == 0 {
					first = r.T
				}
				if (j > 0 || expect != "") && r.Prev != expect {
					bad("entry %d does not follow the entry before it (changed, removed or reordered)", j)
				}
				if r.T < last {
					bad("entry %d is older than the entry before it", j)
				}
				last = r.T
				expect = hashOf(raw)
			}
			if len(seg.Entries) == 0 {
				bad("empty")
			} else if first != s.oldest || last != s.newest {
				bad("its entries' times do not match its name")
			}
			if expect != seg.Head {
				bad("its head is not the hash of its last entry")
			}
			msg := signed(seg.Pod, seg.Process, seg.Seq, len(seg.Entries), seg.Head)
			sig, err := base64.RawURLEncoding.DecodeString(seg.Sig)
			switch {
			case err != nil:
				bad("its signature is unreadable")
			case l.cfg.Keys.VerifyDetached(ctx, seg.KeyID, msg, sig) == nil:
			case carriedHolds(c, seg.KeyID, msg, sig):
				rep.Carried++
			default:
				bad("its signature does not hold for its head (key %q)", seg.KeyID)
			}
			prevHead, prevSeq, prevNewest = seg.Head, s.seq, s.newest
		}
	}
	return rep, nil
}

// carriedHolds checks a signature against a key an import carried, in
// the credential service's detached form.
func carriedHolds(c carried, kid string, msg, sig []byte) bool {
	pub, err := base64.RawURLEncoding.DecodeString(c.Keys[kid])
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, append([]byte(DetachedContext), msg...), sig)
}

// DetachedContext is what the credential service's detached signatures
// (credential.Detached) put before the bytes they sign: a key carried by
// an import is checked the same way. The export and import test on two
// storages holds the two to the same text.
const DetachedContext = "kluis detached signature v1\n"
