package ldp_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/weconomics/kluis/ldp"
)

// TestUsageBatchesRefuseAlone checks the batched counter (usage.go): 32
// writers of one pod in one Store, twice as many as its quota has room
// for, with announced lengths. Their holds are applied together in
// batches, and a hold refused in a batch must leave the others' as they
// were: exactly as many writes succeed as fit, the rest are QuotaErrors,
// and the counter equals a recount; then deletions from both Stores bring
// it back to what the pod held before.
func TestUsageBatchesRefuseAlone(t *testing.T) {
	const (
		size    = 10 << 10
		fit     = 16
		writers = 2 * fit
	)
	for name, open := range sharedBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			bs := open(t)
			probe := podStores(t, bs, 0)
			before := checkUsageExact(t, probe[0])
			// A second pair of Stores with the quota: fit writes of size
			// bytes, and a little room that no write fits in.
			stores := [2]*ldp.Store{}
			for i, b := range bs {
				s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true, PodQuota: before + fit*size + size/2})
				if err != nil {
					t.Fatal(err)
				}
				stores[i] = s
			}
			ok := make([]bool, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					_, err := stores[0].Put(ctx, ldp.Path(fmt.Sprintf("/alice/batch/%d", i)), ldp.WriteRequest{
						Body: bytes.NewReader(make([]byte, size)), ContentType: "application/octet-stream", ContentLength: size})
					switch {
					case err == nil:
						ok[i] = true
					case !isQuota(err):
						t.Errorf("writer %d: %v, want success or a QuotaError", i, err)
					}
				})
			}
			wg.Wait()
			n := 0
			for _, o := range ok {
				if o {
					n++
				}
			}
			if n != fit {
				t.Errorf("%d of %d writers stored, want exactly the %d that fit", n, writers, fit)
			}
			if used := checkUsageExact(t, stores[1]); used != before+int64(n)*size {
				t.Errorf("the pod holds %d bytes, want %d", used, before+int64(n)*size)
			}
			for i := range writers {
				if ok[i] {
					wg.Go(func() {
						if err := stores[i%2].Delete(ctx, ldp.Path(fmt.Sprintf("/alice/batch/%d", i)), ldp.Conditions{}); err != nil {
							t.Errorf("delete %d: %v", i, err)
						}
					})
				}
			}
			wg.Wait()
			if used := checkUsageExact(t, stores[0]); used != before {
				t.Errorf("after the deletions the pod holds %d bytes, want %d", used, before)
			}
		})
	}
}
