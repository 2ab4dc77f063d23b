// Package consent is the HTTP side of access requests and grants
// (package credential is the domain side): the credential service under
// /.vc/ (issue, read, status, verify, derive, query, keys) and the
// discovery documents that @inrupt/solid-client-access-grants reads, the
// UMA token endpoint (/.uma/token) that exchanges a grant for a bearer
// token, the consent page on which a person allows or denies a request,
// the access page of a pod (access.go: its owner sees and ends who can
// reach what, through the pod's ACLs and grants, and reads the access log
// through the AccessLog interface of logview.go), and the records of every
// request, grant, denial and revocation in the person's pod, with their
// Linked Data Notifications.
//
// Its routes are mounted by package server, which also owns the seam to
// authentication and Web Access Control (server/grants.go). Like every
// audience's subpackage it may import echo, the domain packages it serves,
// server/problem and server/request; never package server or another
// audience's subpackage.
package consent
