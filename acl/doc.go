// Package acl is Kluis's Web Access Control: it finds the effective ACL
// resource of a resource, compiles its authorizations, and answers which
// access modes an agent holds and which modes a request needs. The texts it
// implements are ../shared/specs/web-access-control.txt (WAC 1.0, cited as
// "WAC 1.0 §n") and the Access Conditions of
// ../shared/specs/web-access-control-ed-2026-04.txt (cited as "WAC ED §n").
//
// What it owns:
//
//   - Mode, and ModeString / WACAllow for the WAC-Allow header (WAC 1.0 §6.1).
//   - Required: the modes an operation needs (WAC 1.0 §5.3.1), as
//     Requirements that Check (or Requirement.SatisfiedBy) tests.
//   - Evaluator: the effective ACL (WAC 1.0 §5.1), authorization matching
//     (§4, §5.2, §5.3), Web Origin Authorization (§5.3.2), the client and
//     issuer conditions (WAC ED §4.4, §5.3.2), and a cache of compiled ACL
//     documents that never outlives a change.
//   - Validate, which the server runs before writing an ACL resource.
//
// What it must not import: net/http (no HTTP types: the server turns
// requests into Operation and Agent, and errors into statuses), storage
// (ACL documents come through the Source interface declared here), server
// and ldp. Its only Kluis import is ldp/rdfx, to parse Turtle. acl/acltest
// holds in-memory Source and Groups for tests.
//
// # Required modes
//
// Required implements this table. "p" is the target's parent container
// (the IRI's parent, https://h/a/ for https://h/a/b); "A|W" means Append or
// Write (AnyOf), which, since Write implies Append, is met exactly by
// holding Append.
//
//	method   target exists          target is new                  WAC 1.0 §5.3.1
//	GET      Read                   Read                           "GET ... only ... acl:Read"
//	HEAD     Read                   Read                           as GET
//	OPTIONS  Read                   Read                           (choice, below)
//	PUT      Write                  Write, and A|W on p (*)        "PUT"
//	POST     A|W on the target      A|W on the target              "POST"
//	PATCH    patch modes            patch modes, and A|W on p (*)  "PATCH"
//	DELETE   Write, Write on p      Write, Write on p              "delete a resource"
//
// (*) and on every container above p up to the nearest that exists, when p
// does not exist (see the choices below).
//
// Patch modes are Read when the patch has a where clause or deletes, Append
// when it inserts, Write when it deletes (Solid Protocol 0.11 §5.3.1 for
// N3 Patch; the server sets Operation.PatchRead/PatchAppend/PatchWrite).
// Two further rules come first:
//
//   - Any method on an ACL resource <x.acl> (<c/.acl> for a container) needs
//     acl:Control on <x>, and nothing else, whether or not it exists (WAC 1.0
//     §5.3.1: "the operation can only be allowed with the acl:Control access
//     mode"). Creating an ACL resource adds no member to a container, so it
//     needs no Append on one.
//   - A description resource <x.meta> follows the rules of <x> as an
//     existing resource: GET needs Read on <x>, PUT and DELETE Write on <x>,
//     PATCH the patch modes on <x>. It is not a member of <x>'s container,
//     so creating or deleting it needs nothing on the container.
//
// The choices this table makes where the text leaves room:
//
//   - OPTIONS needs Read, like GET. CORS preflights are answered by the
//     server's CORS middleware before authorization and never reach this
//     rule; but Kluis's own OPTIONS answer depends on the resource (Allow
//     lists DELETE only for an existing one, the type links tell a container
//     from an RDF or a binary resource), so it confirms existence, which WAC
//     1.0 §5.3.1 counts as reading: "read operations attempt to confirm the
//     existence of a resource". Solid Protocol 0.11 §5.2 lists OPTIONS among
//     the methods "to read resources or to determine communication
//     options". Were OPTIONS to answer the same for every IRI, it could need
//     nothing.
//   - POST needs Append (or Write) on its target, the container, and
//     nothing on the new member: the general create rule asks for access
//     "on the resource to be created", but the server chooses that IRI only
//     after authorization. The Community Solid Server checks the same.
//   - Creating a resource whose parent container does not exist creates
//     the missing containers too (Solid Protocol §5.3), so it needs A|W on
//     each of them and on the nearest container above that exists, which
//     Operation.Ancestor names: that container gains a member as surely as
//     the parent of a resource created in it (WAC 1.0 §5.3.1 "create a
//     resource as a member of a container"; the WAC 1.0 note "Container
//     Permissions"; the Community Solid Server checks the same). The
//     missing containers' modes come from the nearest ACL above them, by
//     acl:default. Without Ancestor the parent is taken to exist.
//   - DELETE follows the current text ("Write access privilege on the
//     resource and the containing container"), also for a resource that
//     does not exist, so the answer does not reveal existence. The
//     Community Solid Server additionally asks Read to delete a container
//     (its emptiness shows in a 409); Kluis does not.
//   - A PATCH that inserts, deletes and reads nothing still needs Append: it
//     is an update (WAC 1.0 §5.3.1: "the server MUST match an Authorization
//     allowing the acl:Append or acl:Write access privilege on the
//     resource").
//   - Any other method has no rule: Required returns ErrUnknownMethod and the
//     server must refuse the request.
//
// # Evaluation
//
// The effective ACL resource (WAC 1.0 §5.1) is the resource's own ACL when
// the Source has one, whose acl:accessTo authorizations naming the resource
// apply; otherwise the ACL of the nearest container above it that has one,
// whose acl:default authorizations naming that container apply. acl:accessTo
// in an inherited ACL and acl:default in a resource's own ACL never apply.
// No ACL up to the root grants nothing.
//
// An authorization is a node typed acl:Authorization (WAC 1.0 §5.2
// "Authorization Conformance"; the Community Solid Server also reads only
// typed nodes). Options.AcceptUntypedAuthorizations adds any node with an
// acl:mode, for documents written for laxer servers. It grants the union of
// its modes (acl:Read, acl:Append, acl:Write, which implies acl:Append, and
// acl:Control; others are ignored, WAC 1.0 §7.2) when one of its subjects
// matches — acl:agent (the WebID), acl:agentClass foaf:Agent (everyone,
// also anonymous), acl:agentClass acl:AuthenticatedAgent (any WebID),
// acl:agentGroup (the WebID is a vcard:hasMember of the group, through
// Groups) — and all its conditions hold.
//
// A group lookup that fails, loops (a lookup that needs the same group
// again, seen through the context passed to Groups.Members) or nests more
// than four deep denies the authorizations that need it, and only them;
// the evaluation goes on. Groups are looked up last, only when the
// authorization could add a mode not granted yet, and once per evaluation.
//
// # Origins
//
// WAC 1.0 §5.3.2 "Web Origin Authorization" grants a request that has an
// Origin header when there is "an Authorization allowing access to the
// requesting agent", "an Authorization with an acl:origin property value
// that of Origin's field-value, when the required access mode is not
// available to all agents (acl:agentClass foaf:Agent)", and "the required
// access mode is allowed for the requesting agent and the origin". Kluis
// reads this per authorization, so that one agent's trust in an
// application does not extend to another agent's authorizations: when the
// request's Origin is present and not in Options.TrustedOrigins, an
// authorization grants only if it matches the agent and either lists that
// origin in acl:origin, or is public (foaf:Agent) and lists no origin. A
// public authorization that lists origins is restricted to them. Without
// an Origin header acl:origin is ignored (§5.3: it "is taken into account in
// the evaluation only when the HTTP request includes the Origin header").
// An authorization whose only subject is acl:origin grants nothing, as the
// first condition above never holds for it. Origins compare without regard
// to case or a trailing slash. The server puts its own origin in
// TrustedOrigins (the note "Trusted Origins" allows "the same-origin").
//
// # Conditions
//
// acl:condition (WAC ED §4.4) values of type acl:ClientCondition (acl:client,
// acl:clientGroup, acl:clientClass, tested against Agent.ClientID) and
// acl:IssuerCondition (acl:issuer, acl:issuerGroup, acl:issuerClass,
// against Agent.Issuer) are supported: ConditionTypes lists them for the
// ConditionRel Link headers the ED's §3.2 asks for on the effective ACL
// resource. A condition holds when the client (issuer) is listed, is a
// member of a listed group, or a listed class is foaf:Agent, the one class
// the ED defines ("any client, i.e., the public"; it also holds without any
// client, as acl:agentClass foaf:Agent includes the anonymous agent).
// Other classes match nothing. An authorization matches only when all its
// conditions hold (WAC ED §5.3.2).
//
// A condition of any other type, or without a type, makes its
// authorization never match. The ED says unsignalled conditions "are not
// used in Authorization Evaluation" and that consumers "MUST continue
// processing ... as if those properties were not present"; read literally,
// the authorization would then grant without the restriction its author
// wrote, which the ED's own §8.1 warns "could result in access rights
// broader than those intended". Kluis fails closed instead, as WAC 1.0 §7.2
// requires of unknown modes ("MUST NOT cause increased access"); it still
// neither stops nor signals an error.
//
// # Caching
//
// Parsing Turtle on every request is too slow, and caching by time would
// let a revoked grant live on; so the Evaluator caches compiled documents
// by version, and asks the Source for the current versions on every
// evaluation:
//
//  1. For a resource d levels below the root, ACLVersion is called for the
//     resource and each of its d containers, all at once (one goroutine
//     each but the first, which runs on the caller's). The latency is that
//     of one lookup (one storage Stat), not d+1.
//  2. The nearest resource whose ACL exists decides. Its compiled document
//     is taken from the cache when it was read at exactly the version just
//     returned; otherwise ReadACL reads it (with the version of those bytes),
//     and it is parsed, compiled and cached. Documents that do not decide
//     are never read. A document deleted between the two calls is skipped.
//  3. Nothing about absence is cached: "no ACL" is always a fresh answer
//     from step 1.
//
// So a created, changed or deleted ACL takes effect on the very next
// evaluation, in every process that shares the storage, provided the
// Source's versions change with every write (ETags do). The cost per
// evaluation is d+1 concurrent ACLVersion calls and, when the effective
// ACL has not changed, no read and no parse: about 1.5 µs and 4
// allocations (256 B) on the benchmark machine for d = 4 with an in-memory
// Source (BenchmarkModes); after a change, one ReadACL and one parse
// (BenchmarkModesAfterChange). Check shares one resolution between a
// resource and its parent container, so a PUT that creates costs the same.
// Unusable documents are cached as their error, for their version only.
//
// The cache is bounded by Options.MaxCacheEntries; when full, inserting
// evicts the least recently used of a random sample of eight entries.
// Group documents are not cached here: the Groups implementation may.
//
// # For the server
//
// The Source over Kluis storage answers ACLVersion with a Stat of the key of
// <r.acl> (of <c/.acl> for a container), returning the ETag, and
// ErrNoACL (wrapped) on storage.ErrNotFound; ReadACL Gets the same key and
// returns its bytes, the ETag of that Get and the ACL resource's IRI. Other
// storage errors are returned as they are: the evaluation fails with them
// (a 500 or 503), it never guesses.
//
// Errors map to statuses as follows: a *DeniedError (ErrDenied) is 401 for
// an anonymous agent and 403 otherwise (DeniedError.Origin tells an origin
// refusal apart); ErrUnknownMethod is 405; ErrInvalidACL from an
// evaluation is a 500 (an unusable effective ACL, logged); ErrInvalidACL
// from Validate refuses the write with 400 (or 422); ErrInvalidIRI is a
// server bug (500). Regular resources whose names end in ".acl" or ".meta"
// must not be created, as this package takes them for auxiliary resources.
package acl
