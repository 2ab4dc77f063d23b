package consent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// RecordsFolder is the container, in the person's storage, that holds
// one RDF record of every access request, grant and denial about their
// data. The owner reads and exports it like any resource (its ACL is
// inherited); no one writes it but Kluis (RecordsPath, used by the
// server's permission seam).
const RecordsFolder = "access-records/"

// The vocabularies of the records.
const (
	nsGC   = "https://w3id.org/GConsent#"
	nsDPV  = "https://w3id.org/dpv#"
	nsDCT  = "http://purl.org/dc/terms/"
	nsRDF  = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsACL  = "http://www.w3.org/ns/auth/acl#"
	nsAS   = "https://www.w3.org/ns/activitystreams#"
	nsLDP  = "http://www.w3.org/ns/ldp#"
	nsXSD  = "http://www.w3.org/2001/XMLSchema#"
	nsProv = "http://www.w3.org/ns/prov#"
)

// RecordsPath reports whether p lies in a storage's records container
// (the container itself included), given the storage's root.
func RecordsPath(root, p ldp.Path) bool {
	return strings.HasPrefix(string(p), string(root)+RecordsFolder)
}

// Records writes the records in the person's pod and the Linked Data
// Notifications of requests and decisions.
type Records struct {
	Space  *ldp.Store
	Logger *slog.Logger
	Now    func() time.Time
	// Outbox, when set, delivers the notifications to inboxes on other
	// servers; without it they are delivered to this server's only.
	Outbox *Outbox
	// ProfileInbox, when set with Outbox, finds the ldp:inbox that a
	// WebID profile on another server names (Linked Data Notifications,
	// "Discovery"), so that a pod's owner whose WebID lives elsewhere is
	// told of a request there too. It is called in the background only.
	ProfileInbox func(ctx context.Context, webID string) (string, error)
}

// Changed is told of every issued credential ("issued"), status change
// ("revoked") and expiry ("expired", by the housekeeping): it writes the
// record and, for an issued one, delivers the notification.
// Failures are logged: the credential stands whatever happens to them.
func (r *Records) Changed(ctx context.Context, acc *credential.Access, event string) {
	if len(acc.Resources) == 0 {
		return
	}
	first, ok := r.Space.PathOf(acc.Resources[0])
	if !ok {
		return
	}
	root, ok, err := r.Space.StorageOf(ctx, first)
	if err != nil || !ok {
		r.log(ctx, "no storage for the record", acc, err)
		return
	}
	id := acc.ID[strings.LastIndexByte(acc.ID, '/')+1:]
	rec := root + ldp.Path(RecordsFolder+id)
	var b bytes.Buffer
	if err := rdfx.Serialize(&b, r.record(acc, event), rdfx.Turtle, r.Space.IRI(rec), map[string]string{
		"gc": nsGC, "dpv": nsDPV, "dct": nsDCT, "acl": nsACL, "prov": nsProv,
	}); err != nil {
		r.log(ctx, "serialising the record", acc, err)
		return
	}
	if _, err := r.Space.Put(ctx, rec, ldp.WriteRequest{Body: &b, ContentType: rdfx.Turtle}); err != nil {
		r.log(ctx, "writing the record", acc, err)
	}
	// Linked Data Notifications (LDN §4.2, "Sender"): a new request to the
	// owner's inbox, a decision to the requestor's.
	switch {
	case event == "issued" && acc.Kind == credential.Request:
		r.notify(ctx, r.inboxOf(ctx, root), acc, "Offer")
		r.notifyOwner(ctx, root, acc)
	case event == "issued":
		r.notify(ctx, acc.Inbox, acc, map[credential.Kind]string{credential.Grant: "Accept", credential.Denial: "Reject"}[acc.Kind])
	}
}

// record is the RDF of a credential: GConsent for the consent, DPV for
// its purpose, Dublin Core for its dates.
func (r *Records) record(acc *credential.Access, event string) *rdfx.Graph {
	g := rdfx.NewGraph(24)
	me := rdfx.IRI(acc.ID)
	add := func(p string, o rdfx.Term) { g.Add(rdfx.Triple{S: me, P: rdfx.IRI(p), O: o}) }
	date := func(t time.Time) rdfx.Term { return rdfx.Literal(t.UTC().Format(time.RFC3339), nsXSD+"dateTime") }
	add(nsRDF+"type", rdfx.IRI(nsGC+"Consent"))
	add(nsRDF+"type", rdfx.IRI("http://www.w3.org/ns/solid/vc#"+string(acc.Kind)))
	status := acc.Status
	if event == "expired" {
		status = nsGC + "ConsentStatusExpired"
		add(nsDCT+"modified", date(r.Now()))
	}
	if event == "revoked" {
		status = nsGC + "ConsentStatusWithdrawn"
		if acc.Kind == credential.Request {
			status = nsGC + "ConsentStatusInvalidated"
		}
		add(nsDCT+"modified", date(r.Now()))
	}
	add(nsGC+"hasStatus", rdfx.IRI(status))
	if acc.Owner != "" {
		add(nsGC+"isConsentForDataSubject", rdfx.IRI(acc.Owner))
	}
	if acc.Requestor != "" {
		add(nsGC+"isProvidedTo", rdfx.IRI(acc.Requestor))
	}
	for _, p := range acc.Purposes {
		add(nsGC+"forPurpose", rdfx.IRI(p))
		add(nsDPV+"hasPurpose", rdfx.IRI(p))
	}
	for _, d := range acc.Resources {
		add(nsGC+"forPersonalData", rdfx.IRI(d))
	}
	for _, m := range acc.Modes {
		add(nsACL+"mode", rdfx.IRI(m))
	}
	add(nsDCT+"created", date(acc.Issued))
	if !acc.Expires.IsZero() {
		add(nsDCT+"valid", date(acc.Expires))
		add(nsDPV+"hasExpiryTime", date(acc.Expires))
	}
	if acc.Request != "" {
		add(nsProv+"wasDerivedFrom", rdfx.IRI(acc.Request))
	}
	return g
}

// inboxOf is the pod's inbox, when the pod has the one Kluis makes.
func (r *Records) inboxOf(ctx context.Context, root ldp.Path) string {
	inbox := root + "inbox/"
	if _, err := r.Space.Backend().Stat(ctx, inbox.Key()); err != nil {
		return ""
	}
	return r.Space.IRI(inbox)
}

// notifyOwner tells the pod's owner of a request at the inbox their WebID
// profile names, when the profile is on another server: only the owner
// the pod is registered to, when the request is addressed to them, never
// another WebID a request names.
func (r *Records) notifyOwner(ctx context.Context, root ldp.Path, acc *credential.Access) {
	if r.Outbox == nil || r.ProfileInbox == nil || acc.Owner == "" {
		return
	}
	if _, local := r.Space.PathOf(acc.Owner); local {
		return // its inbox, if any, is the pod's
	}
	name := strings.Trim(string(root), "/")
	if name == "" || strings.Contains(name, "/") {
		return
	}
	pod, err := ldp.ReadPod(ctx, r.Space.Backend(), name)
	if err != nil || pod.Owner != acc.Owner {
		return
	}
	body := notification("Offer", acc, r.Now())
	r.Outbox.sendTo(ctx, func(ctx context.Context) (string, error) {
		inbox, err := r.ProfileInbox(ctx, acc.Owner)
		if _, local := r.Space.PathOf(inbox); local {
			return "", err // the pod's inbox was told
		}
		return inbox, err
	}, body)
}

// notify posts an Activity Streams notification naming the credential
// to inbox: on this server, through the pod; on another, through the
// Outbox, in the background.
func (r *Records) notify(ctx context.Context, inbox string, acc *credential.Access, activity string) {
	if inbox == "" || activity == "" {
		return
	}
	p, ok := r.Space.PathOf(inbox)
	if !ok {
		if r.Outbox != nil {
			r.Outbox.Send(ctx, inbox, notification(activity, acc, r.Now()))
		}
		return
	}
	if !p.IsContainer() {
		return
	}
	g := rdfx.NewGraph(6)
	n := rdfx.Blank("notification")
	add := func(pred string, o rdfx.Term) { g.Add(rdfx.Triple{S: n, P: rdfx.IRI(pred), O: o}) }
	add(nsRDF+"type", rdfx.IRI(nsAS+activity))
	add(nsAS+"object", rdfx.IRI(acc.ID))
	add(nsAS+"actor", rdfx.IRI(acc.Subject))
	add(nsAS+"published", rdfx.Literal(r.Now().UTC().Format(time.RFC3339), nsXSD+"dateTime"))
	var b bytes.Buffer
	if err := rdfx.Serialize(&b, g, rdfx.Turtle, "", map[string]string{"as": nsAS}); err != nil {
		r.log(ctx, "serialising the notification", acc, err)
		return
	}
	_, err := r.Space.Post(ctx, p, ldp.PostRequest{WriteRequest: ldp.WriteRequest{Body: &b, ContentType: rdfx.Turtle}})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		r.log(ctx, "delivering the notification", acc, err)
	}
}

func (r *Records) log(ctx context.Context, what string, acc *credential.Access, err error) {
	if r.Logger != nil {
		r.Logger.WarnContext(ctx, "access records: "+what, "credential", acc.ID, "error", err)
	}
}

// notification is the JSON-LD of an Activity Streams notification naming
// the credential acc, its issuing party as actor: JSON-LD is what every
// receiver accepts (Linked Data Notifications, "Receiver").
func notification(activity string, acc *credential.Access, now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"type":     activity, "object": acc.ID, "actor": acc.Subject,
		"published": now.UTC().Format(time.RFC3339),
	})
	return b
}

// Outbox posts Linked Data Notifications to inboxes on other servers
// (Linked Data Notifications, "Sender"). The inbox is named by the other party, so every
// post goes through Client, which must be the safe fetcher's
// (webid/fetch: private and special addresses refused unless allowed, on
// every redirect hop; bounded time), and never blocks the request that
// caused it: at most Slots posts are in flight; one more is dropped, and
// logged.
type Outbox struct {
	Client *http.Client
	Logger *slog.Logger
	// Slots bounds the posts in flight (default 16).
	Slots int

	once    sync.Once
	slots   chan struct{}
	pending sync.WaitGroup
}

// Send posts body to inbox in the background; the outcome is logged.
func (o *Outbox) Send(ctx context.Context, inbox string, body []byte) {
	o.sendTo(ctx, func(context.Context) (string, error) { return inbox, nil }, body)
}

// sendTo posts body, in the background, to the inbox that find gives
// there ("" is none).
func (o *Outbox) sendTo(ctx context.Context, find func(context.Context) (string, error), body []byte) {
	o.once.Do(func() {
		n := o.Slots
		if n <= 0 {
			n = 16
		}
		o.slots = make(chan struct{}, n)
	})
	select {
	case o.slots <- struct{}{}:
	default:
		o.warn(ctx, "dropped: too many in flight", "", nil)
		return
	}
	o.pending.Add(1)
	ctx = context.WithoutCancel(ctx) // outlives the request
	go func() {
		defer func() { <-o.slots; o.pending.Done() }()
		inbox, err := find(ctx)
		if err != nil {
			o.warn(ctx, "no inbox found", inbox, err)
			return
		}
		if inbox == "" {
			return
		}
		if err := o.Post(ctx, inbox, body); err != nil {
			o.warn(ctx, "not delivered", inbox, err)
		}
	}()
}

// Wait returns when every post sent so far has ended.
func (o *Outbox) Wait() { o.pending.Wait() }

// Post delivers body to inbox now: any 2xx is delivered (a Linked Data
// Notifications receiver answers 201 Created or 202 Accepted).
func (o *Outbox) Post(ctx context.Context, inbox string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return fmt.Errorf("consent: inbox %.200q is not http(s)", inbox)
	}
	req.Header.Set("Content-Type", "application/ld+json")
	res, err := o.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("consent: inbox answered %d", res.StatusCode)
	}
	return nil
}

func (o *Outbox) warn(ctx context.Context, what, inbox string, err error) {
	if o.Logger != nil {
		o.Logger.WarnContext(ctx, "access notifications: "+what, "inbox", inbox, "error", err)
	}
}
