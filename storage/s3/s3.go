package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/weconomics/kluis/storage"
)

// Limits of S3 multipart uploads, and the part size used when none is set.
const (
	defaultPartSize = 8 << 20
	minPartSize     = 5 << 20
	maxPartSize     = 5 << 30
	maxParts        = 10000

	// maxObjectName is S3's (and MinIO's) limit on a whole object name, the
	// configured prefix included.
	maxObjectName = 1024
)

// Config says which bucket to use and how to reach it.
type Config struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	Prefix    string // optional key prefix inside the bucket, e.g. "kluis/"; "" or ends in "/"
	Region    string
	PathStyle bool // path-style bucket lookup (MinIO needs true)
	TLS       bool
	AccessKey string
	SecretKey string
	PartSize  uint64 // multipart part size for streamed puts; 0 means 8 MiB
}

// String describes the configuration without its secret key, so that a
// Config can be logged.
func (c Config) String() string {
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	return fmt.Sprintf("s3 %s://%s/%s/%s (region %q, path style %t, access key %q, part size %d)",
		scheme, c.Endpoint, c.Bucket, c.Prefix, c.Region, c.PathStyle, c.AccessKey, c.PartSize)
}

// GoString is String, so that %#v does not print the secret key either.
func (c Config) GoString() string { return c.String() }

// validate reports every problem of c at once.
func (c Config) validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("endpoint is empty"))
	} else if strings.Contains(c.Endpoint, "://") || strings.ContainsAny(c.Endpoint, "/?#") {
		errs = append(errs, fmt.Errorf("endpoint %q must be host:port, without scheme or path", c.Endpoint))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("bucket is empty"))
	}
	if c.Prefix != "" {
		if err := storage.ValidatePrefix(c.Prefix); err != nil {
			errs = append(errs, fmt.Errorf("prefix: %w", err))
		}
		if len(c.Prefix)+storage.MaxKeyLength > maxObjectName {
			errs = append(errs, fmt.Errorf("prefix is %d bytes; at most %d leaves room for every valid key in S3's %d",
				len(c.Prefix), maxObjectName-storage.MaxKeyLength, maxObjectName))
		}
	}
	if c.PartSize != 0 && (c.PartSize < minPartSize || c.PartSize > maxPartSize) {
		errs = append(errs, fmt.Errorf("part size %d is outside [%d, %d]", c.PartSize, minPartSize, maxPartSize))
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		errs = append(errs, errors.New("access key and secret key must be given together"))
	}
	return errors.Join(errs...)
}

// Backend is a storage.Backend over one bucket of an S3-compatible store.
// It is safe for concurrent use, also by several processes sharing the
// bucket (see the package documentation for the caveat on Delete).
type Backend struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	partSize int
	now      func() time.Time
	maxKeys  int // entries per listing page; 0 leaves it to the server (1,000)
	// conns counts the connections to the bucket open now, idle or busy.
	conns *atomic.Int64
}

// Connections returns how many connections to the bucket are open now,
// idle in the pool or in use (the metric kluis_storage_connections).
func (b *Backend) Connections() int { return int(b.conns.Load()) }

var (
	_ storage.Backend = (*Backend)(nil)
	_ storage.Checker = (*Backend)(nil)
)

// New connects, checks the bucket and creates it if missing. An endpoint
// that cannot be reached is storage.ErrUnavailable.
func New(ctx context.Context, c Config) (*Backend, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("s3: config: %w", err)
	}
	conns := new(atomic.Int64)
	client, err := newClient(c, conns)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		conns:    conns,
		client:   client,
		core:     minio.Core{Client: client},
		bucket:   c.Bucket,
		prefix:   c.Prefix,
		partSize: defaultPartSize,
		now:      time.Now,
	}
	if c.PartSize != 0 {
		b.partSize = int(c.PartSize)
	}
	if err := b.ensureBucket(ctx, c.Region); err != nil {
		return nil, err
	}
	return b, nil
}

// MaxIdleConns is how many connections to the bucket are kept open
// between requests. minio-go's default keeps 16, fewer than a loaded
// process asks at once (32 requests asking up to three HEADs each): every
// request past them opened a connection, a TCP and TLS handshake, and
// left a socket in TIME_WAIT when it closed it (TestConnectionsKept).
const MaxIdleConns = 256

// newClient makes the minio-go client of c, counting its open connections
// in conns.
func newClient(c Config, conns *atomic.Int64) (*minio.Client, error) {
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	tr, err := minio.DefaultTransport(c.TLS)
	if err != nil {
		return nil, fmt.Errorf("s3: transport for %s: %w", c.Endpoint, err)
	}
	tr.MaxIdleConns = MaxIdleConns
	tr.MaxIdleConnsPerHost = MaxIdleConns
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conns.Add(1)
		return &countedConn{Conn: conn, open: conns}, nil
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		// Empty keys make minio-go send anonymous requests.
		Creds:        credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:       c.TLS,
		Region:       c.Region,
		BucketLookup: lookup,
		Transport:    tr,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: client for %s: %w", c.Endpoint, err)
	}
	return client, nil
}

func (b *Backend) ensureBucket(ctx context.Context, region string) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return mapErr("check bucket", b.bucket, err)
	}
	if ok {
		return nil
	}
	err = b.client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{Region: region})
	if err == nil {
		return nil
	}
	// Another process may have created it meanwhile.
	if code := errorCode(err); code == minio.BucketAlreadyOwnedByYou || code == minio.BucketAlreadyExists {
		if ok, err2 := b.client.BucketExists(ctx, b.bucket); err2 == nil && ok {
			return nil
		}
	}
	return mapErr("create bucket", b.bucket, err)
}

// Check reports whether the bucket is reachable, for a readiness probe. A
// missing bucket or an unreachable endpoint is storage.ErrUnavailable.
func (b *Backend) Check(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return mapErr("check bucket", b.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3: check bucket %s: missing: %w", b.bucket, storage.ErrUnavailable)
	}
	return nil
}

// Stat returns the object's Info with one HEAD request.
func (b *Backend) Stat(ctx context.Context, key string) (storage.Info, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Info{}, fmt.Errorf("s3: stat: %w", err)
	}
	oi, err := b.client.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return storage.Info{}, mapErr("stat", key, err)
	}
	return toInfo(key, oi, oi.Size), nil
}

// Delete removes the object at key. S3 cannot do this atomically: it makes
// a HEAD to find a missing object and to compare o.IfMatch, then a DELETE;
// see the package documentation for the race between the two.
func (b *Backend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("s3: delete: %w", err)
	}
	oi, err := b.client.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return mapErr("delete", key, err)
	}
	if o.IfMatch != "" && oi.ETag != o.IfMatch {
		return fmt.Errorf("s3: delete %s: %w", key, storage.ErrPreconditionFailed)
	}
	if err := b.client.RemoveObject(ctx, b.bucket, b.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return mapErr("delete", key, err)
	}
	return nil
}

// toInfo converts what S3 says of an object; size is the whole object's.
func toInfo(key string, oi minio.ObjectInfo, size int64) storage.Info {
	return storage.Info{
		Key:         key,
		Size:        size,
		ETag:        oi.ETag,
		ContentType: oi.ContentType,
		Modified:    oi.LastModified.UTC(),
		Metadata:    fromUserMetadata(oi.UserMetadata),
	}
}

// metaPrefix is given to every storage metadata name when stored, so that
// names such as "content-type" or "x-amz-acl" stay user metadata instead of
// being taken by minio-go for the headers of the same names.
const metaPrefix = "x-amz-meta-"

func toUserMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[metaPrefix+k] = v
	}
	return out
}

// fromUserMetadata lower-cases the names of minio-go's UserMetadata, which
// are canonical header names from which minio-go has already cut the one
// X-Amz-Meta- prefix that toUserMetadata added.
func fromUserMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// countedConn is a connection counted in open until it is closed.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed sync.Once
}

func (c *countedConn) Close() error {
	c.closed.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}
