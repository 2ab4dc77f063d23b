package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/webid/account"
)

// Deleting pods and accounts, which really removes their data: for the
// owner through the account API and the account page, for the hoster on
// the command line. Each needs a confirmation that repeats what is
// deleted: the pod's name, or the account's e-mail address.
//
// JSON API (Kluis's own; CSS has no account deletion):
//
//	DELETE <podResource>            {"confirm": "<pod name>"}
//	DELETE controls.account.delete  {"confirm": "<e-mail address>"}
//
// Both are routes of the account like the others: the session token or
// the cookie (then only from this origin, see own), and a body that is
// application/json (readJSON), which no HTML form can send.

// deletePod deletes the pod called name of acc: its data (the pod must be
// the account's), then its place in the account.
func (p *provisioner) deletePod(ctx context.Context, acc account.Account, name string) error {
	podURL := p.space.IRI(ldp.Path("/" + name + "/"))
	if !slices.Contains(acc.Pods, podURL) {
		return fmt.Errorf("pod: %w", account.ErrNotFound)
	}
	if err := p.space.DeletePod(ctx, name); err != nil && !errors.Is(err, ldp.ErrNoPod) {
		return err
	}
	if err := p.accounts.RemovePod(ctx, acc.ID, podURL); err != nil && !errors.Is(err, account.ErrNotFound) {
		return err
	}
	p.logger.Info("pod deleted by its account", "pod", name, "account", acc.ID)
	return nil
}

// deleteAccount deletes every pod of acc, then the account.
func (p *provisioner) deleteAccount(ctx context.Context, acc account.Account) error {
	for _, u := range acc.Pods {
		path, ok := p.space.PathOf(u)
		if !ok {
			continue
		}
		if err := p.deletePod(ctx, acc, strings.Trim(string(path), "/")); err != nil && !errors.Is(err, account.ErrNotFound) {
			return err
		}
	}
	if err := p.accounts.Delete(ctx, acc.ID); err != nil {
		return err
	}
	p.logger.Info("account deleted", "account", acc.ID, "pods", len(acc.Pods))
	return nil
}

// confirmation reads {"confirm": ...} and checks it against want (compared
// as equalFold says).
func confirmation(c echo.Context, want, what string, equalFold bool) error {
	var in struct {
		Confirm *string `json:"confirm"`
	}
	if err := readJSON(c, &in); err != nil {
		return err
	}
	if in.Confirm == nil {
		return &problem.BadRequestError{Reason: "confirm is a required field: repeat " + what + " to confirm the deletion"}
	}
	got := strings.TrimSpace(*in.Confirm)
	if got != want && !(equalFold && strings.EqualFold(got, want)) {
		return &problem.BadRequestError{Reason: "confirm does not match " + what + "; nothing was deleted"}
	}
	return nil
}

// accountConfirmation is what confirms the deletion of acc: its e-mail
// address, or its id when it has no login.
func accountConfirmation(acc account.Account) (string, string) {
	if acc.Email != "" {
		return acc.Email, "the account's e-mail address"
	}
	return acc.ID, "the account's id"
}

// deletePodAPI deletes a pod of the account (DELETE on its pod resource).
func (h *Handler) deletePodAPI(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	name := c.Param("pod")
	if _, err := h.accountPod(acc, name); err != nil {
		return err
	}
	if err := confirmation(c, name, "the pod's name", false); err != nil {
		return err
	}
	if err := h.pods.deletePod(c.Request().Context(), acc, name); err != nil {
		return err
	}
	return reply(c, map[string]any{})
}

// deleteAccountAPI deletes the account and its pods
// (controls.account.delete) and ends the session.
func (h *Handler) deleteAccountAPI(c echo.Context) error {
	acc, _, err := h.own(c)
	if err != nil {
		return err
	}
	want, what := accountConfirmation(acc)
	if err := confirmation(c, want, what, true); err != nil {
		return err
	}
	if err := h.pods.deleteAccount(c.Request().Context(), acc); err != nil {
		return err
	}
	h.clearSession(c)
	return reply(c, map[string]any{})
}

// pageDeletePod handles the overview's "Delete this pod" form.
func (h *Handler) pageDeletePod(c echo.Context, acc account.Account, tok string) error {
	f := c.Request().PostForm
	name := f.Get("pod")
	if _, err := h.accountPod(acc, name); err != nil {
		return err
	}
	if strings.TrimSpace(f.Get("confirm")) != name {
		return &problem.BadRequestError{Reason: "To delete the pod " + name + ", type its name. Nothing was deleted."}
	}
	ctx := c.Request().Context()
	if err := h.pods.deletePod(ctx, acc, name); err != nil {
		return err
	}
	fresh, err := h.accounts.Get(ctx, acc.ID)
	if err != nil {
		return err
	}
	return h.renderOverview(c, http.StatusOK, fresh, tok, overviewNotice{Message: "The pod " + name + " and everything in it were deleted."})
}

// pageDeleteAccount handles the overview's "Delete my account" form.
func (h *Handler) pageDeleteAccount(c echo.Context, acc account.Account) error {
	want, what := accountConfirmation(acc)
	if got := strings.TrimSpace(c.Request().PostForm.Get("confirm")); !strings.EqualFold(got, want) {
		return &problem.BadRequestError{Reason: "To delete your account, type " + what + ". Nothing was deleted."}
	}
	if err := h.pods.deleteAccount(c.Request().Context(), acc); err != nil {
		return err
	}
	h.clearSession(c)
	return h.renderPage(c, http.StatusOK, "deleted", pageData{Title: "Account deleted"})
}

// DeletePod deletes the pod called name, with everything in it, and takes
// it off the account that holds it, for a hoster. The name may be taken
// again afterwards.
func (a *Admin) DeletePod(ctx context.Context, name string) error {
	if err := ldp.CheckPodName(name); err != nil {
		return err
	}
	if err := a.pods.space.DeletePod(ctx, name); err != nil {
		return err
	}
	return a.pods.accounts.ForgetPod(ctx, a.pods.space.IRI(ldp.Path("/"+name+"/")))
}
