package accounts

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/url"
	"strings"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/account"
)

// provisioner makes pods for accounts. It is the one place that ties a
// pod (ldp.Store.CreatePod) to the account that made it
// (account.Store.AddPod), for the account API, the pages and the command
// line alike.
type provisioner struct {
	space    *ldp.Store
	accounts *account.Store
	// issuer is the server's OpenID issuer, the solid:oidcIssuer of new
	// WebIDs: the base URL, with its trailing "/".
	issuer string
	logger *slog.Logger
}

// createdPod is what creating a pod tells.
type createdPod struct {
	// URL is the pod's base URL, ending in "/".
	URL string
	// Name is the pod's name.
	Name string
	// WebID is the WebID that owns the pod.
	WebID string
	// Linked tells whether WebID was linked to the account (it is when
	// the pod's own WebID owns it).
	Linked bool
}

// createPod makes the pod name for acc, owned by ownerWebID or, when that
// is empty, by the WebID the pod's profile defines, which is then linked
// to the account. displayName goes into the profile.
//
// The pod is made first: a name that is taken or invalid leaves the
// account as it was. Should recording it in the account fail afterwards,
// the pod stays, owned by its WebID, and the error says so.
func (p *provisioner) createPod(ctx context.Context, acc account.Account, name, displayName, ownerWebID string) (createdPod, error) {
	if err := p.accounts.CanCreatePod(acc); err != nil {
		return createdPod{}, err
	}
	name = strings.TrimSpace(name)
	if err := ldp.CheckPodName(name); err != nil {
		return createdPod{}, err
	}
	if ownerWebID != "" {
		if err := account.CheckWebID(ownerWebID); err != nil {
			return createdPod{}, err
		}
	}
	pod, err := p.space.CreatePod(ctx, name, ldp.PodOwner{WebID: ownerWebID, Name: displayName, Issuer: p.issuer})
	if err != nil {
		return createdPod{}, err
	}
	res := createdPod{URL: p.space.IRI(pod.Root), Name: pod.Name, WebID: pod.Owner}
	link := ""
	if ownerWebID == "" {
		link, res.Linked = pod.Owner, true
	}
	if err := p.accounts.AddPod(ctx, acc.ID, res.URL, link); err != nil {
		p.logger.Error("pod created but not recorded in its account", "pod", pod.Name, "account", acc.ID, "error", err)
		return createdPod{}, fmt.Errorf("server: pod %s was created, but recording it in the account failed: %w", pod.Name, err)
	}
	return res, nil
}

// Admin is what a hoster's command line does with the server's storage:
// make accounts with pods, list pods. It works on the same backend and
// settings as the server, and may run beside it.
type Admin struct {
	pods *provisioner
}

// AdminConfig are the settings of the server that an Admin needs to make
// pods as the server does.
type AdminConfig struct {
	// BaseURL is the server's public URL.
	BaseURL *url.URL
	// Pods and PodQuota are server.Config's.
	Pods     bool
	PodQuota int64
	// Accounts are the account store's options; nil means the defaults.
	Accounts *account.Options
}

// NewAdmin builds an Admin over backend with the server's settings.
func NewAdmin(ctx context.Context, cfg AdminConfig, backend storage.Backend, logger *slog.Logger) (*Admin, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseURL == nil {
		return nil, errors.New("accounts: no base URL")
	}
	space, err := ldp.New(ctx, backend, ldp.Config{BaseURL: cfg.BaseURL.String(), Pods: cfg.Pods, PodQuota: cfg.PodQuota})
	if err != nil {
		return nil, err
	}
	var opts account.Options
	if cfg.Accounts != nil {
		opts = *cfg.Accounts
	}
	return &Admin{pods: &provisioner{
		space: space, accounts: account.New(backend, opts), issuer: issuerOf(cfg.BaseURL), logger: logger,
	}}, nil
}

// NewAccount is what Admin.CreateAccount made.
type NewAccount struct {
	ID    string
	Email string
	// Pod is the pod's URL and WebID its owner's, when a pod was asked
	// for.
	Pod   string
	WebID string
}

// CreateAccount makes an account with a password login and, when podName
// is not empty, a pod whose profile names displayName.
func (a *Admin) CreateAccount(ctx context.Context, email, password, podName, displayName string) (NewAccount, error) {
	if podName != "" {
		// Refuse a bad name before anything is stored.
		if err := ldp.CheckPodName(podName); err != nil {
			return NewAccount{}, err
		}
	}
	acc, err := a.pods.accounts.Register(ctx, email, password, "local")
	if err != nil {
		return NewAccount{}, err
	}
	out := NewAccount{ID: acc.ID, Email: acc.Email}
	if podName == "" {
		return out, nil
	}
	pod, err := a.pods.createPod(ctx, acc, podName, displayName, "")
	if err != nil {
		return out, fmt.Errorf("account %s was created, but its pod was not: %w", acc.ID, err)
	}
	out.Pod, out.WebID = pod.URL, pod.WebID
	return out, nil
}

// Pods yields every pod of the storage.
func (a *Admin) Pods(ctx context.Context) iter.Seq2[ldp.Pod, error] {
	return a.pods.space.Pods(ctx)
}

// PodURL is the URL of a pod's root.
func (a *Admin) PodURL(p ldp.Pod) string { return a.pods.space.IRI(p.Root) }

// PodUsage tells how many bytes the pod called name holds and may hold
// (ldp/quota.go); with recount, its objects are counted again first, to
// set right a counter that drifted.
func (a *Admin) PodUsage(ctx context.Context, name string, recount bool) (ldp.Usage, error) {
	if recount {
		return a.pods.space.RecountPodUsage(ctx, name)
	}
	return a.pods.space.PodUsage(ctx, name)
}

// SetPodQuota gives the pod called name a quota of its own in bytes (0:
// no limit), or with nil makes it follow the server's default again.
func (a *Admin) SetPodQuota(ctx context.Context, name string, quota *int64) (ldp.Usage, error) {
	return a.pods.space.SetPodQuota(ctx, name, quota)
}

// issuerOf is the server's OpenID issuer URL: the base URL, ending in "/".
func issuerOf(base *url.URL) string {
	s := base.String()
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}
