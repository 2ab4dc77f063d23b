// Package accounts is the room of the people who hold accounts and pods:
// the account API at /.account/ (compatible with the JSON API of the
// Community Solid Server, api.go), its HTML pages (sign-up, login, the
// account overview, pages.go), password reset by e-mail (forgot.go),
// deleting pods and accounts (delete.go), and the provisioner that makes a
// pod for an account, for the API, the pages and the command line (Admin)
// alike (pods.go).
//
// Its Handler is built from a Config of its dependencies (the account
// store of webid/account, the resource space of ldp, the base URL, the
// mailer) and adds its routes with Mount; package server builds it and
// mounts it. Errors are returned, and become statuses in server/problem;
// what the middleware left on a request is read through server/request.
//
// It may import echo, ldp, storage, webid/account, webid/idp (for its
// paths), server/problem and server/request; never package server or
// another audience's subpackage.
package accounts
