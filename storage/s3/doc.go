// Package s3 is the storage.Backend over an S3-compatible object store
// (MinIO in development and CI, or any S3 service).
//
// It owns the translation between storage's contract and S3: keys under an
// optional prefix inside one bucket, conditional writes, byte ranges, user
// metadata, and the mapping of S3 errors to storage's sentinels, done here
// at the edge so that nothing above sees an S3 error code. It is the only
// package in Kluis that imports github.com/minio/minio-go/v7; it imports
// nothing from Kluis but storage.
//
// # How the operations map to S3
//
// Get is one GET request. It uses minio.Core.GetObject rather than
// minio.Client.GetObject: the latter is lazy (its errors appear on first
// read) and, when asked for Stat first, makes a HEAD and then a GET. Errors
// are therefore returned by Get itself, and errors while reading the body
// are converted too. With a Range, the whole object's size is taken from the
// Content-Range of the answer. S3 answers 416 to any Range on an empty
// object, so a range that storage.Range.Resolve accepts on an empty object
// costs one extra HEAD.
//
// Put streams: the size of the body is not asked for. It reads the body into
// a buffer that grows up to Config.PartSize. A body that ends before that is
// stored with one PUT. A longer one becomes a multipart upload whose parts
// are sent one after the other from that same buffer, so a Put holds about
// one part in memory whatever the object's size (a 64 MiB Put grows the
// heap by about 16 MiB with the default 8 MiB parts), and stores at most
// 10,000 parts (80 GiB with the default part size). A failed or cancelled
// multipart upload is aborted, and the previous object stays in place until
// the upload completes. A bytes.Reader or strings.Reader shorter than a part
// is sent as it is, without the copy.
//
// Conditional Puts send If-Match or If-None-Match: * with the PUT, or with
// both the initiation and the completion of a multipart upload; MinIO checks
// them under its object lock, so exactly one of several racing writers wins.
// minio-go's own multipart path drops these headers from the completion
// request, which is why this package drives multipart uploads itself.
//
// S3 has no Last-Modified in the answer to a PUT, so Put asks for it with
// one HEAD after the write; if the object has changed again meanwhile, the
// local clock stands in.
//
// List uses ListObjectsV2 with the delimiter "/", paged by minio-go. minio-go
// yields each page's objects before its common prefixes, so List sorts one
// page at a time (it notices a new page through an httptrace hook on its own
// context) to give keys in byte order while holding at most one page.
//
// # Caveats
//
// Delete is not atomic. S3 DELETE is idempotent (204 for a missing key) and
// MinIO ignores If-Match on DELETE, so Delete makes a HEAD first to report
// storage.ErrNotFound and to compare DeleteOptions.IfMatch, then deletes.
// Between the two requests another writer may replace the object: a
// conditional Delete can then remove a version it never saw, and two
// concurrent Deletes of one key may both succeed.
//
// ETags are S3's: the MD5 of the content for a single PUT, and a hash of
// the parts' hashes with a "-N" suffix for a multipart upload. Storing the
// same bytes again gives the same ETag.
//
// MinIO hides the objects below "a/" from listings while an object "a"
// exists, though Get and Stat still find them. This package does not refuse
// such keys with storage.ErrConflict, which would cost a request per level
// of every key and still race; Kluis does not store a key and a level of
// the same name.
//
// Times have the one-second resolution of HTTP dates; listings are
// truncated to the second to agree with Stat.
//
// The secret key is never logged nor put in an error; Config's String
// method leaves it out.
package s3
