// Package archive moves whole pods in and out of a storage.Backend: Export
// writes a pod as a tar archive, Import reads such an archive into a new
// pod, and MigrateCSS imports the pods of a Community Solid Server
// file-backend data folder.
//
// # Archive format (version 1)
//
// A pod archive is a POSIX tar file in the PAX format. Its entries come in
// this order:
//
//   - kluis-pod.json, a regular file: the pod's registry record as JSON,
//     {"format": "kluis-pod", "version": 1, "name": "alice",
//     "owner": "<owner WebID>", "created": "<RFC 3339 time>"}.
//   - pod/, a directory entry: the pod's root container /alice/. Every
//     other entry is named pod/ followed by the resource's path inside the
//     pod: /alice/profile/card is pod/profile/card, the container
//     /alice/notes/ is the directory entry pod/notes/, and the auxiliary
//     resources /alice/notes/.acl and /alice/profile/card.meta are the
//     regular files pod/notes/.acl and pod/profile/card.meta.
//   - kluis-credentials.json, optional and last: the access credentials
//     about the pod (credential/move.go says what it holds). The archive
//     package writes it from ExportOptions.Credentials and hands it to
//     Options.Credentials on import, without reading it; an import without
//     that option skips it.
//
// Each resource entry carries the media type the resource is stored with
// (text/turtle for RDF sources, ACLs, .meta and containers) in the PAX
// record SCHILY.xattr.user.mime_type: the extended attribute
// user.mime_type of the shared MIME-info convention, which tar tools
// ignore quietly or, with --xattrs, set on the extracted file. A container's own triples, when it has any, are
// the Turtle of the PAX record KLUIS.body of its directory entry (tar
// directories carry no data). Regular files carry the stored bytes
// unchanged. Modification times are informative only: an import stores
// the resources anew.
//
// Export walks the pod depth first with Backend.List, one container's
// listing at a time, and streams each object from Get into the archive,
// so a pod is never held in memory. Within a container, a resource's ACL
// comes before the resource and its .meta after it, and a container's
// ACL before its directory entry, so that an import never makes a
// resource readable before the rules that guard it.
//
// Import refuses anything it would not write itself: entries outside
// pod/, paths that ldp.ParsePath refuses (absolute names, ".." and "."
// segments, empty segments, backslashes, control characters) or
// ldp.CheckName refuses (auxiliary resources of auxiliary resources,
// names too long for their auxiliary resources), duplicate
// entries, a resource and a container of the same name, entries larger
// than Options.MaxEntryBytes, more than Options.MaxEntries entries,
// symbolic and hard links, devices and every other entry type, and ACLs,
// .meta resources and containers that are not Turtle. It imports into a
// pod that does not exist yet only, writes every object with
// If-None-Match, and removes what it wrote when it fails.
//
// # IRIs
//
// Absolute IRIs of the old server in RDF documents (Turtle, JSON-LD,
// N-Triples, RDF/XML, N3; ACLs and .meta included) and in the owner are
// rewritten by Rewrite rules, longest matching base first; relative IRIs
// move with their documents. A rewritten document, and every RDF document
// migrated in another syntax than Turtle, is stored as Turtle serialised
// anew (comments and prefix choices are lost); a Turtle document with no
// IRI to rewrite is kept byte for byte. Literals are never changed.
//
// # The access log
//
// After the pod's resources come the files of its access log
// (ldp/accesslog), unchanged: access-log/<hour>/<segment>, one per
// segment, and access-log/keys.json, the pod's name and the public keys
// that signed the segments. Import stores them as the new pod's log, so
// that its hash chains and signatures still verify, against the keys the
// archive carried (accesslog.Report.Carried).
//
// The package imports ldp, ldp/accesslog, ldp/rdfx and storage only.
package archive
