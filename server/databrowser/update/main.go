// Command update fetches the pinned mashlib release from the npm registry,
// checks it against the integrity hash of the pin, and writes the files
// Kluis serves into server/databrowser/mashlib; with -check it only
// compares them, and fails when they differ from the release.
//
// Run from the repository root:
//
//	go run ./server/databrowser/update                  # rewrite from the pin
//	go run ./server/databrowser/update -version 2.4.0   # move the pin
//	go run ./server/databrowser/update -check           # what CI runs
//
// The pin (server/databrowser/mashlib/PIN) is one line: the version and
// the tarball's Subresource Integrity string as the registry publishes it
// (dist.integrity). Moving the pin reads the new version's integrity from
// the registry's metadata, so a later tarball under the same version is
// refused. The registry is https://registry.npmjs.org unless
// npm_config_registry names another (npm's own variable).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// maxTarball bounds the download; mashlib 2.3.3 is 7 MB.
const maxTarball = 64 << 20

func main() {
	dir := flag.String("dir", "server/databrowser/mashlib", "the folder of the embedded copy")
	version := flag.String("version", "", "move the pin to this version (default: keep it)")
	check := flag.Bool("check", false, "compare the folder with the pinned release and change nothing")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, *dir, *version, *check); err != nil {
		fmt.Fprintln(os.Stderr, "update:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, version string, check bool) error {
	registry := strings.TrimSuffix(os.Getenv("npm_config_registry"), "/")
	if registry == "" {
		registry = "https://registry.npmjs.org"
	}
	pinned, integrity, err := readPin(filepath.Join(dir, "PIN"))
	if err != nil && (check || version == "") {
		return err
	}
	if version != "" && version != pinned {
		if check {
			return errors.New("-check and -version do not go together")
		}
		if integrity, err = lookUp(ctx, registry, version); err != nil {
			return err
		}
		pinned = version
	}
	tgz, err := download(ctx, registry+"/mashlib/-/mashlib-"+pinned+".tgz")
	if err != nil {
		return err
	}
	if err := verify(tgz, integrity); err != nil {
		return err
	}
	files, err := served(tgz)
	if err != nil {
		return err
	}
	if check {
		return compare(dir, files)
	}
	return write(dir, files, pinned+" "+integrity+"\n")
}

// readPin reads "<version> <integrity>".
func readPin(name string) (version, integrity string, err error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || !strings.HasPrefix(f[1], "sha512-") {
		return "", "", fmt.Errorf("%s: want \"<version> sha512-<base64>\"", name)
	}
	return f[0], f[1], nil
}

// lookUp reads a version's integrity from the registry's metadata.
func lookUp(ctx context.Context, registry, version string) (string, error) {
	b, err := download(ctx, registry+"/mashlib/"+version)
	if err != nil {
		return "", err
	}
	var meta struct {
		Dist struct {
			Integrity string `json:"integrity"`
		} `json:"dist"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("mashlib %s metadata: %w", version, err)
	}
	if !strings.HasPrefix(meta.Dist.Integrity, "sha512-") {
		return "", fmt.Errorf("mashlib %s: no sha512 integrity in the registry's metadata", version)
	}
	return meta.Dist.Integrity, nil
}

func download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxTarball+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(b) > maxTarball {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", url, maxTarball)
	}
	return b, nil
}

// verify checks b against a Subresource Integrity string.
func verify(b []byte, integrity string) error {
	sum := sha512.Sum512(b)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		return fmt.Errorf("the tarball's integrity is %s, the pin says %s", got, integrity)
	}
	return nil
}

// served picks the files Kluis serves from the package: package/dist less
// source maps, the unminified bundles (x.js beside x.min.js) and the
// example pages (browse*.html), and the licence.
func served(tgz []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	all := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxTarball))
		if err != nil {
			return nil, err
		}
		all[h.Name] = b
	}
	files := map[string][]byte{}
	for name, b := range all {
		base := path.Base(name)
		switch {
		case name == "package/LICENSE.md" || name == "package/LICENSE":
			files[base] = b
		case path.Dir(name) != "package/dist":
		case strings.HasSuffix(base, ".map"), strings.HasPrefix(base, "browse"):
		case strings.HasSuffix(base, ".js") && !strings.HasSuffix(base, ".min.js") &&
			all["package/dist/"+strings.TrimSuffix(base, ".js")+".min.js"] != nil:
		default:
			files[base] = b
		}
	}
	for _, need := range []string{"mashlib.min.js", "mash.css", "databrowser.html"} {
		if files[need] == nil {
			return nil, fmt.Errorf("the package has no dist/%s", need)
		}
	}
	return files, nil
}

// compare fails unless dir holds exactly files, besides the pin.
func compare(dir string, files map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var problems []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Name() == "PIN" {
			continue
		}
		seen[e.Name()] = true
		want, ok := files[e.Name()]
		if !ok {
			problems = append(problems, e.Name()+" is not in the release")
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			problems = append(problems, e.Name()+" differs from the release")
		}
	}
	for name := range files {
		if !seen[name] {
			problems = append(problems, name+" is missing")
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%s does not match the pinned release:\n  %s", dir, strings.Join(problems, "\n  "))
	}
	fmt.Printf("%s matches the pinned release (%d files)\n", dir, len(files))
	return nil
}

// write replaces dir's files with files and the pin.
func write(dir string, files map[string][]byte, pin string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var total int
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
		total += len(b)
	}
	if err := os.WriteFile(filepath.Join(dir, "PIN"), []byte(pin), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %d files, %d bytes, to %s\n", len(files), total, dir)
	return nil
}
