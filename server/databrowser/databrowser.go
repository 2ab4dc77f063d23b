package databrowser

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// release is mashlib's npm release, as the update command wrote it.
//
//go:embed mashlib
var release embed.FS

// root is the path under which the assets are served, on the base host
// and on every pod's host.
const root = "/.databrowser/"

// Limits of a hoster's folder: the files read into memory at start.
const (
	maxFiles      = 200
	maxFolderSize = 64 << 20
)

// Config says which data browser to serve.
type Config struct {
	// Source is "" for the embedded release, a folder holding a mashlib
	// build (its dist folder: mashlib.min.js, mash.css, and
	// databrowser.html unless the embedded one should be used), or an
	// http(s) URL of a folder that serves one (a CDN). Only an
	// embedded or folder copy is served by Kluis itself.
	Source string
	// BaseURL is the server's public URL. Its origin is the identity
	// provider and the notification WebSockets, which the page must reach
	// from a pod's own host too.
	BaseURL *url.URL
}

// Handler serves the data browser's page and assets. It is read-only after
// New.
type Handler struct {
	// files are the assets' files; nil when they come from a URL.
	files fs.FS
	// assets are the files served under prefix, by name, read from files
	// once (loaded): at the first request for the embedded release, which
	// every server start would otherwise copy (4 MB), and in New for a
	// folder, whose errors are told at start.
	once    sync.Once
	loadErr error
	assets  map[string]*asset
	// prefix is the path of the assets' folder, ending in "/".
	prefix string
	// immutable tells whether the prefix names the version, so that the
	// assets may be cached for good.
	immutable bool
	// page is the data browser's HTML page, and csp its policy.
	page []byte
	csp  string
	// version is the embedded release's version, "" for another copy.
	version string
}

// asset is one file of the data browser.
type asset struct {
	contentType string
	data        []byte
	etag        string
	// gz is data gzipped, made on first use when compressible.
	gzOnce sync.Once
	gz     []byte
}

// New loads the data browser cfg names.
func New(cfg Config) (*Handler, error) {
	if cfg.BaseURL == nil {
		return nil, errors.New("databrowser: no base URL")
	}
	h := &Handler{}
	var files fs.FS
	var base string // where the page loads mashlib.min.js and mash.css from
	switch src := cfg.Source; {
	case src == "":
		sub, err := fs.Sub(release, "mashlib")
		if err != nil {
			return nil, err
		}
		pin, err := fs.ReadFile(sub, "PIN")
		if err != nil {
			return nil, fmt.Errorf("databrowser: the embedded release has no pin: %w", err)
		}
		h.version, _, _ = strings.Cut(strings.TrimSpace(string(pin)), " ")
		files, h.prefix, h.immutable = sub, root+"mashlib-"+h.version+"/", true
		base = h.prefix
	case strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://"):
		u, err := url.Parse(src)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("databrowser: %q is not a plain http(s) URL of a folder", src)
		}
		base = strings.TrimSuffix(u.String(), "/") + "/"
	default:
		info, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("databrowser: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("databrowser: %s is not a folder", src)
		}
		files, h.prefix = os.DirFS(src), root+"local/"
		base = h.prefix
	}
	h.files = files
	pageHTML, err := fs.ReadFile(release, "mashlib/databrowser.html")
	if err != nil {
		return nil, err
	}
	if files != nil && !h.immutable {
		// A folder: read now, so that a bad one stops the start.
		if err := h.loaded(); err != nil {
			return nil, err
		}
		if page, ok := h.assets["databrowser.html"]; ok {
			pageHTML = page.data
		}
	}
	if h.page, err = pointAt(pageHTML, base); err != nil {
		return nil, err
	}
	h.csp = policy(h.page, base, cfg.BaseURL)
	return h, nil
}

// loaded reads the assets once.
func (h *Handler) loaded() error {
	h.once.Do(func() { h.loadErr = h.load(h.files) })
	return h.loadErr
}

// load reads the assets of files into memory, setting the entry script's
// public path to the assets' folder when it is still "/".
func (h *Handler) load(files fs.FS) error {
	h.assets = map[string]*asset{}
	total := 0
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(name, ".map") || name == "PIN" || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if len(h.assets) == maxFiles {
			return fmt.Errorf("more than %d files", maxFiles)
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		if total += len(b); total > maxFolderSize {
			return fmt.Errorf("more than %d bytes besides source maps", maxFolderSize)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.assets[name] = &asset{contentType: ct, data: b}
		return nil
	})
	if err != nil {
		return fmt.Errorf("databrowser: reading the assets: %w", err)
	}
	entry, ok := h.assets["mashlib.min.js"]
	if !ok {
		return errors.New("databrowser: the assets have no mashlib.min.js")
	}
	if _, ok := h.assets["mash.css"]; !ok {
		return errors.New("databrowser: the assets have no mash.css")
	}
	entry.data = publicPath(entry.data, h.prefix)
	for name, a := range h.assets {
		if h.immutable {
			// The folder names the version: its files never change.
			a.etag = `"` + h.version + "-" + strings.ReplaceAll(name, `"`, "") + `"`
			continue
		}
		sum := sha256.Sum256(a.data)
		a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	}
	return nil
}

// webpackRoot is the end of the assignment of the webpack runtime's
// public path when the build left it at "/" (the release's):
// `<name>.p="/"`.
const webpackRoot = `.p="/"`

// publicPath sets the public path of a webpack entry script to prefix when
// it is "/" in exactly one place (an identifier, then webpackRoot);
// otherwise (a build with its own PUBLIC_PATH) it leaves the script as it
// is. It reads the script with bytes.Index, not a regular expression: the
// release's entry script is 3 MB and every server start reads it.
func publicPath(js []byte, prefix string) []byte {
	at := -1
	for from := 0; ; {
		i := bytes.Index(js[from:], []byte(webpackRoot))
		if i < 0 {
			break
		}
		i += from
		from = i + len(webpackRoot)
		if i == 0 || !isIdent(js[i-1]) {
			continue
		}
		if at >= 0 {
			return js // twice: not the runtime's one assignment
		}
		at = i
	}
	if at < 0 {
		return js
	}
	out := make([]byte, 0, len(js)+len(prefix))
	out = append(out, js[:at]...)
	out = append(out, `.p="`+prefix+`"`...)
	return append(out, js[at+len(webpackRoot):]...)
}

func isIdent(b byte) bool {
	return b == '_' || b == '$' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// pointAt makes the page load mashlib.min.js and mash.css from base: the
// release's page names them at the root.
func pointAt(page []byte, base string) ([]byte, error) {
	for _, name := range []string{"mashlib.min.js", "mash.css"} {
		var n int
		for _, attr := range []string{`src="/`, `href="/`} {
			old := []byte(attr + name + `"`)
			n += bytes.Count(page, old)
			page = bytes.ReplaceAll(page, old, []byte(attr[:len(attr)-1]+base+name+`"`))
		}
		if n != 1 {
			return nil, fmt.Errorf("databrowser: the page names /%s %d times; want once", name, n)
		}
	}
	return page, nil
}

// inlineScript finds the page's inline scripts, which the policy allows by
// their hashes.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// policy is the page's Content-Security-Policy (package doc).
func policy(page []byte, base string, baseURL *url.URL) string {
	scripts := []string{"'self'"}
	for _, m := range inlineScript.FindAllSubmatch(page, -1) {
		sum := sha256.Sum256(m[1])
		scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	styles := []string{"'self'", "'unsafe-inline'"}
	if strings.HasPrefix(base, "http") {
		u, _ := url.Parse(base)
		origin := u.Scheme + "://" + u.Host
		scripts = append(scripts, origin)
		styles = append(styles, origin)
	}
	server := baseURL.Scheme + "://" + baseURL.Host
	ws := "ws://" + baseURL.Host
	if baseURL.Scheme == "https" {
		ws = "wss://" + baseURL.Host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(scripts, " "),
		"style-src " + strings.Join(styles, " "),
		"img-src 'self' data: blob: https: " + server,
		"media-src 'self' blob: https: " + server,
		"font-src 'self' data:",
		"connect-src 'self' " + server + " " + ws + " https: wss:",
		"frame-src 'self' blob:",
		"worker-src 'self'",
		"manifest-src 'self'",
		"form-action 'self' " + server,
		"base-uri 'none'",
		"object-src 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// Mount serves the assets under their folder, when Kluis serves them.
func (h *Handler) Mount(e *echo.Echo) {
	if h.files == nil {
		return
	}
	e.GET(h.prefix+"*", h.serveAsset)
	e.HEAD(h.prefix+"*", h.serveAsset)
}

// serveAsset answers GET and HEAD of an asset: gzipped when the client
// takes it, with validators, and cached for good when the folder names
// the version.
func (h *Handler) serveAsset(c echo.Context) error {
	r := c.Request()
	name := strings.TrimPrefix(r.URL.Path, h.prefix)
	if err := h.loaded(); err != nil {
		return err
	}
	a, ok := h.assets[name]
	if !ok || name == "" {
		return echo.ErrNotFound
	}
	hdr := c.Response().Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cross-Origin-Resource-Policy", "same-site")
	if h.immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	data, etag := a.data, a.etag
	if compressible(a.contentType) {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			data = a.gzipped()
			etag = strings.TrimSuffix(etag, `"`) + `-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(c.Response(), r, "", time.Time{}, bytes.NewReader(data))
	return nil
}

func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.data)
		_ = zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

func compressible(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "javascript") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "+xml")
}

// acceptsGzip reads Accept-Encoding (RFC 9110 §12.5.3): gzip, unless its
// weight is 0.
func acceptsGzip(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// ServePage answers with the data browser's page and status: 200 for a
// container or RDF document, or the refusal (401, 403) or 404 the request
// met, so that the person can log in from the page, or see what is
// missing. The caller sets the headers of that answer (WWW-Authenticate,
// Link, WAC-Allow, and Vary: Accept); the page loads the resource itself
// as RDF.
func (h *Handler) ServePage(c echo.Context, status int) error {
	hdr := c.Response().Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", h.csp)
	// The icons come from SolidOS's site (package doc); they learn
	// nothing of the pod's URLs.
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Length", fmt.Sprint(len(h.page)))
	c.Response().WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err := c.Response().Write(h.page)
	return err
}

// Serves tells whether path is one of the assets' paths, which a pod's own
// host leaves to the data browser.
func (h *Handler) Serves(path string) bool {
	return h.files != nil && strings.HasPrefix(path, h.prefix)
}
