// Package filesystem is the embedded default storage.Backend: objects are
// files in a local folder, so Kluis runs with no set-up at all.
//
// # Layout
//
// Under the root folder:
//
//	objects/<key>          one file per object: a small binary header
//	                       (ETag, content type, modification time, body
//	                       length, user metadata) followed by the body,
//	                       byte-exact, then any records appended in place
//	                       (append.go)
//	objects/<level>/\marker the marker object of a key ending in "/"; keys
//	                       never hold a backslash, so no key can name it
//	tmp/                   bodies being written (a new object is written
//	                       as an unnamed file in its own folder instead,
//	                       where the file system allows: create_linux.go)
//	locks/00 .. locks/ff   lock files, one per stripe of keys
//
// # Guarantees
//
// A Put streams the body into a temporary file, fsyncs it, then renames it
// over the object and fsyncs the folder: a reader sees the old object or the
// new one, never part of one, and a crash (even SIGKILL or power loss after
// the rename) leaves no partial object visible. A Put that creates an
// object renames before its fsync (one journal commit instead of two); a
// power loss before that fsync can leave a short, empty or unwritten file at
// the name, which the body's length in the header tells, and which reads
// as no object (header.go). Header and body live in one
// file, so metadata can never disagree with content, and ETags and metadata
// survive restarts.
//
// An Append (storage.Appender) writes a record after the body in place and
// fdatasyncs it; a record a crash cut short fails its checksum and is not
// part of the object.
//
// Every write takes an exclusive lock on its key's stripe: an in-process
// mutex and flock(2) on the stripe's lock file, so conditional writes are
// atomic also between several Kluis processes sharing the folder (on a local
// file system; flock over NFS is not relied upon).
//
// Deleting the last object below a level removes the emptied folders, so
// levels vanish as they do in S3.
//
// It imports the standard library, golang.org/x/sys/unix (for O_TMPFILE,
// linkat and fdatasync) and storage.
package filesystem
