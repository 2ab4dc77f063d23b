package credential_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/storage/memory"
)

// TestMovePod: the move document of a pod's credentials re-issues, on
// the new server, the grants still active whose resources are in the
// moved pod (here the container /alice/data/), for their new IRIs, the
// owner's WebID included; a revoked grant and a grant reaching outside
// the pod are not re-issued, and a tampered credential stops the import.
func TestMovePod(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	old := newService(t, &now)
	asAlice := credential.Agent{WebID: alice}
	grant := func(body string) string {
		t.Helper()
		doc, _, err := old.Issue(ctx, asAlice, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return doc["id"].(string)
	}
	active := grant(issueBody("SolidAccessGrant", credential.StatusGiven, ""))
	revoked := grant(issueBody("SolidAccessGrant", credential.StatusGiven, ""))
	outside := grant(strings.Replace(issueBody("SolidAccessGrant", credential.StatusGiven, ""),
		`["https://pod.example/alice/data/"]`, `["https://pod.example/alice/data/", "https://pod.example/alice/other"]`, 1))
	if _, err := old.SetStatus(ctx, asAlice, revokeBody(revoked)); err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	ids := []string{}
	for _, iri := range []string{active, revoked, outside, base + "vc/unknown"} {
		ids = append(ids, iri[strings.LastIndexByte(iri, '/')+1:])
	}
	if err := old.ExportPod(ctx, ids, &doc); err != nil {
		t.Fatal(err)
	}

	const newBase = "https://new.example/.vc/"
	rebase := func(iri string) string {
		if rest, ok := strings.CutPrefix(iri, "https://pod.example/"); ok {
			return "https://new.example/" + rest
		}
		return iri
	}
	fresh := func() *credential.Service {
		s, err := credential.New(credential.Config{
			Store: memory.New(), Base: newBase, Now: func() time.Time { return now },
			Controls: func(context.Context, credential.Agent, string) error { return errors.New("no control") },
			OnServer: func(iri string) bool { return strings.HasPrefix(iri, "https://new.example/alice/data/") },
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	moved := fresh()
	list, err := moved.ImportPod(ctx, bytes.NewReader(doc.Bytes()), rebase)
	if err != nil || len(list) != 1 || list[0].From != active || !strings.HasPrefix(list[0].To, newBase+"vc/") || list[0].Grantee != org {
		t.Fatalf("import: %+v %v", list, err)
	}
	got, err := moved.Active(ctx, org)
	if err != nil || len(got) != 1 || got[0].ID != list[0].To || got[0].Owner != rebase(alice) ||
		len(got[0].Resources) != 1 || got[0].Resources[0] != "https://new.example/alice/data/" {
		t.Fatalf("active on the new server: %+v %v", got, err)
	}

	tampered := strings.Replace(doc.String(), `"https://pod.example/alice/data/"`, `"https://pod.example/alice/"`, 1)
	if _, err := fresh().ImportPod(ctx, strings.NewReader(tampered), rebase); !errors.Is(err, credential.ErrProof) {
		t.Fatalf("a tampered move document: %v, want ErrProof", err)
	}
}

// TestMovePodSameBase: moved to another Kluis at the same base URL (other
// storage), the pod's credentials are kept as they are: the old grant
// verifies there (the UMA way's check) and is active (the plain way's),
// a revoked one stays revoked, a pending request stays readable by its
// parties, the new server publishes the old key and goes on signing with
// its own, and the person revokes the kept grant there.
func TestMovePodSameBase(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	old, moved := newService(t, &now), newService(t, &now)
	asAlice, asOrg := credential.Agent{WebID: alice}, credential.Agent{WebID: org}
	issue := func(who credential.Agent, kind, status string) map[string]any {
		t.Helper()
		doc, _, err := old.Issue(ctx, who, []byte(issueBody(kind, status, "")))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	active := issue(asAlice, "SolidAccessGrant", credential.StatusGiven)
	revoked := issue(asAlice, "SolidAccessGrant", credential.StatusGiven)
	request := issue(asOrg, "SolidAccessRequest", credential.StatusRequested)
	if _, err := old.SetStatus(ctx, asAlice, revokeBody(revoked["id"].(string))); err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	var ids []string
	for _, d := range []map[string]any{active, revoked, request} {
		iri := d["id"].(string)
		ids = append(ids, iri[strings.LastIndexByte(iri, '/')+1:])
	}
	if err := old.ExportPod(ctx, ids, &doc); err != nil {
		t.Fatal(err)
	}
	list, err := moved.ImportPod(ctx, &doc, func(iri string) string { return iri })
	if err != nil || len(list) != 1 || list[0].From != active["id"] || list[0].To != active["id"] {
		t.Fatalf("import: %+v %v", list, err)
	}
	if _, err := moved.Valid(ctx, active); err != nil {
		t.Fatalf("the kept grant on the new server: %v", err)
	}
	if got, err := moved.Active(ctx, org); err != nil || len(got) != 1 || got[0].ID != active["id"] {
		t.Fatalf("active on the new server: %v %v", got, err)
	}
	if _, err := moved.Valid(ctx, revoked); !errors.Is(err, credential.ErrForbidden) {
		t.Fatalf("the revoked grant on the new server: %v", err)
	}
	if _, _, err := moved.Get(ctx, asOrg, request["id"].(string)); err != nil {
		t.Fatalf("the request on the new server: %v", err)
	}
	keys, err := moved.Keys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("the new server's keys: %d %v", len(keys), err)
	}
	mine, _, err := moved.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, "")))
	if err != nil {
		t.Fatal(err)
	}
	if vm := mine["proof"].(map[string]any)["verificationMethod"]; vm == active["proof"].(map[string]any)["verificationMethod"] {
		t.Fatalf("the new server signs with the imported key %v", vm)
	}
	if _, err := moved.SetStatus(ctx, asAlice, revokeBody(active["id"].(string))); err != nil {
		t.Fatal(err)
	}
	if _, err := moved.Valid(ctx, active); !errors.Is(err, credential.ErrForbidden) {
		t.Fatalf("the kept grant after its revocation on the new server: %v", err)
	}
}
