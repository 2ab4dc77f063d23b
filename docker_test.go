package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// These tests keep docker/Dockerfile, docker/compose.yaml,
// docker/.env.example and .ci/build consistent with each other and with
// the server, since no Docker engine runs in CI; and they build the binary
// with .ci/build and run it with the compose file's environment against
// the MinIO of .ci/test.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	// stage is the index of the FROM it belongs to.
	stage int
}

// parseDockerfile reads the instructions of a Dockerfile.
func parseDockerfile(t *testing.T, name string) []instruction {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	stage := -1
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{cmd: cmd, args: strings.Join(strings.Fields(args), " "), stage: stage})
	}
	return out
}

// goDirective is the major.minor of go.mod's go directive.
func goDirective(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?\s*$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "docker/Dockerfile")
	var froms []instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d FROM lines, want a build stage and a runtime stage", len(froms))
	}
	last := len(froms) - 1
	inFinal := func(cmd string) []instruction {
		var r []instruction
		for _, in := range ins {
			if in.cmd == cmd && in.stage == last {
				r = append(r, in)
			}
		}
		return r
	}

	// The builder is the official Go image of go.mod's version.
	builder := regexp.MustCompile(`^golang:(\d+\.\d+)(\.\d+)?(-[a-z0-9]+)? AS (\S+)$`).FindStringSubmatch(froms[0].args)
	if builder == nil {
		t.Fatalf("first stage %q: want FROM golang:<version>[-variant] AS <name>", froms[0].args)
	}
	if want := goDirective(t); builder[1] != want {
		t.Errorf("the builder is Go %s, go.mod says %s", builder[1], want)
	}
	runtime := strings.Fields(froms[last].args)[0]
	if !strings.HasPrefix(runtime, "gcr.io/distroless/static") && runtime != "scratch" {
		t.Errorf("runtime image %q: want a distroless static image or scratch", runtime)
	}

	// The build stage runs the build script, and nothing builds otherwise.
	var builds []string
	for _, in := range ins {
		if in.cmd != "RUN" {
			continue
		}
		if strings.Contains(in.args, "go build") || strings.Contains(in.args, "go install") {
			t.Errorf("RUN %s builds without .ci/build", in.args)
		}
		if strings.Contains(in.args, ".ci/build") {
			builds = append(builds, in.args)
			if in.stage != 0 {
				t.Errorf("RUN %s is not in the build stage", in.args)
			}
		}
	}
	if len(builds) != 1 || !regexp.MustCompile(`(^|\s)bash \.ci/build /\S+`).MatchString(builds[0]) {
		t.Fatalf("build RUN lines %q, want one `bash .ci/build <path>`", builds)
	}
	out := regexp.MustCompile(`\.ci/build (\S+)`).FindStringSubmatch(builds[0])[1]

	// CGO stays off: the script sets it, and nothing sets it otherwise.
	text, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`CGO_ENABLED\s*[=\s]\s*"?(\w*)`).FindAllStringSubmatch(string(text), -1) {
		if m[1] != "0" {
			t.Errorf("the Dockerfile sets CGO_ENABLED=%s", m[1])
		}
	}
	script, err := os.ReadFile(".ci/build")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"CGO_ENABLED=0 go build", "-trimpath", `-ldflags "-s -w -X main.version=`, `"${1:-./kluis}"`} {
		if !strings.Contains(string(script), w) {
			t.Errorf(".ci/build lacks %s", w)
		}
	}

	// The binary is copied from the build output and is the entry point.
	var binary string
	for _, in := range inFinal("COPY") {
		if strings.Contains(in.args, "--from=") && strings.Contains(in.args, " "+out+" ") {
			binary = strings.Fields(in.args)[len(strings.Fields(in.args))-1]
		}
	}
	if binary == "" {
		t.Fatalf("the runtime stage copies no %s", out)
	}
	if got := execForm(t, inFinal("ENTRYPOINT")); len(got) != 1 || got[0] != binary {
		t.Errorf("ENTRYPOINT %q, want [%q]", got, binary)
	}

	// Non-root user.
	users := inFinal("USER")
	if len(users) == 0 {
		t.Fatal("no USER: the image would run as root")
	}
	user := users[len(users)-1].args
	if name, _, _ := strings.Cut(user, ":"); name == "root" || name == "0" {
		t.Errorf("USER %s is root", user)
	}

	// Data in a volume at /data; the port and address of the server.
	envs := map[string]string{}
	for _, in := range inFinal("ENV") {
		for _, kv := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				envs[k] = v
			}
		}
	}
	if envs["KLUIS_DATA"] != "/data" {
		t.Errorf("ENV KLUIS_DATA=%q, want /data", envs["KLUIS_DATA"])
	}
	volumes := inFinal("VOLUME")
	if len(volumes) != 1 || strings.Trim(volumes[0].args, `[]" `) != "/data" {
		t.Errorf("VOLUME %v, want /data", volumes)
	}
	_, defaultPort, _ := net.SplitHostPort(defaultAddr)
	if addr, ok := envs["KLUIS_ADDR"]; ok {
		if _, p, _ := net.SplitHostPort(addr); p != defaultPort {
			t.Errorf("ENV KLUIS_ADDR=%s, want port %s", addr, defaultPort)
		}
	}
	exposes := inFinal("EXPOSE")
	if len(exposes) != 1 || strings.TrimSuffix(exposes[0].args, "/tcp") != defaultPort {
		t.Errorf("EXPOSE %v, want %s (the default -addr)", exposes, defaultPort)
	}

	// The health check is the binary's own, which asks the liveness probe.
	checks := inFinal("HEALTHCHECK")
	if len(checks) != 1 {
		t.Fatalf("%d HEALTHCHECKs in the runtime stage, want 1", len(checks))
	}
	_, cmd, ok := strings.Cut(checks[0].args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s has no CMD", checks[0].args)
	}
	var argv []string
	if err := json.Unmarshal([]byte(cmd), &argv); err != nil || len(argv) < 2 || argv[0] != binary || argv[1] != "-healthcheck" {
		t.Errorf("HEALTHCHECK CMD %s, want the exec form [%q, \"-healthcheck\"]", cmd, binary)
	}
	if livenessPath != "/.well-known/kluis/live" {
		t.Errorf("-healthcheck asks %s, not the liveness probe", livenessPath)
	}

	// OCI labels, the version from the build argument.
	labels := strings.Join(func() []string {
		var s []string
		for _, in := range inFinal("LABEL") {
			s = append(s, in.args)
		}
		return s
	}(), " ")
	for _, w := range []string{`org.opencontainers.image.title="Kluis"`, `org.opencontainers.image.source="https://github.com/weconomics/kluis"`,
		`org.opencontainers.image.licenses="MIT"`, `org.opencontainers.image.version="$VERSION"`} {
		if !strings.Contains(labels, w) {
			t.Errorf("LABEL lacks %s", w)
		}
	}
	if !slices.ContainsFunc(inFinal("ARG"), func(in instruction) bool { return strings.HasPrefix(in.args, "VERSION") }) {
		t.Error("the runtime stage has no ARG VERSION for its label")
	}
	if lic, err := os.ReadFile("LICENSE"); err != nil || !strings.HasPrefix(string(lic), "MIT License") {
		t.Errorf("the label says MIT; LICENSE does not (%v)", err)
	}
}

// execForm reads the JSON array of the last of ins.
func execForm(t *testing.T, ins []instruction) []string {
	t.Helper()
	if len(ins) == 0 {
		return nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(ins[len(ins)-1].args), &argv); err != nil {
		t.Errorf("%s %s: want the exec form, a JSON array", ins[len(ins)-1].cmd, ins[len(ins)-1].args)
	}
	return argv
}

// settingNames lists the environment variable of every setting: those of
// the flags (named in their help) and the secrets.
func settingNames(t *testing.T) []string {
	t.Helper()
	var cfg Config
	l := newLoader(&cfg, env(nil))
	re := regexp.MustCompile(`\(\$(KLUIS_[A-Z0-9_]+)\)$`)
	names := []string{"KLUIS_S3_ACCESS_KEY", "KLUIS_S3_SECRET_KEY", "KLUIS_SECRET_KEY", "KLUIS_PREVIOUS_SECRET_KEY", "KLUIS_SMTP_URL"}
	l.fs.VisitAll(func(f *flag.Flag) {
		m := re.FindStringSubmatch(f.Usage)
		if m == nil {
			t.Errorf("the help of -%s names no KLUIS_ variable", f.Name)
			return
		}
		names = append(names, m[1])
	})
	return names
}

// composeFile is the part of docker/compose.yaml the tests read.
type composeFile struct {
	Services map[string]struct {
		Image       string    `yaml:"image"`
		Environment yaml.Node `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Volumes  []string `yaml:"volumes"`
		Profiles []string `yaml:"profiles"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("docker/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker/compose.yaml: %v", err)
	}
	return c
}

// kluisEnvironment is the kluis service's environment list, in order.
func kluisEnvironment(t *testing.T, c composeFile) []string {
	t.Helper()
	var list []string
	envNode := c.Services["kluis"].Environment
	if err := envNode.Decode(&list); err != nil {
		t.Fatalf("the kluis service's environment is not a list of KEY=value: %v", err)
	}
	return list
}

// interpolate expands compose's ${NAME}, ${NAME:-default},
// ${NAME-default}, ${NAME:?message}, ${NAME?message} and $$ in s, with vars.
func interpolate(s string, vars map[string]string) (string, error) {
	var problem error
	re := regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)
	out := re.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := re.FindStringSubmatch(m)
		name, op, arg := sub[1], sub[2], sub[3]
		v, set := vars[name]
		empty := !set || (strings.HasPrefix(op, ":") && v == "")
		switch {
		case !empty:
			return v
		case strings.HasSuffix(op, "-"):
			return arg
		case strings.HasSuffix(op, "?"):
			problem = fmt.Errorf("%s is required: %s", name, arg)
		}
		return ""
	})
	return out, problem
}

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"A": "a", "E": ""}
	for in, want := range map[string]string{
		"x=${A}": "x=a", "${B:-b}": "b", "${E:-e}": "e", "${E-e}": "", "${B-b}": "b", "$$HOME": "$HOME", "${A:?no}": "a",
	} {
		if got, err := interpolate(in, vars); err != nil || got != want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := interpolate("${B:?set B}", vars); err == nil || !strings.Contains(err.Error(), "set B") {
		t.Errorf("a missing required variable: %v", err)
	}
}

// TestComposeFile: MinIO, its one-shot setup and Kluis start in order of
// health; state is in named volumes; secrets come from .env; every
// setting reaches Kluis and is documented in .env.example.
func TestComposeFile(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"minio", "minio-setup", "kluis", "nats"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no %s service", name)
		}
	}
	kluis := c.Services["kluis"]
	if kluis.DependsOn["minio"].Condition != "service_healthy" ||
		kluis.DependsOn["minio-setup"].Condition != "service_completed_successfully" {
		t.Errorf("kluis depends on %+v, want minio healthy and minio-setup completed", kluis.DependsOn)
	}
	if c.Services["minio-setup"].DependsOn["minio"].Condition != "service_healthy" {
		t.Error("minio-setup does not wait for a healthy minio")
	}
	if c.Services["minio"].Healthcheck == nil || len(c.Services["minio"].Healthcheck.Test) == 0 {
		t.Error("minio has no health check")
	}
	if !slices.Contains(c.Services["nats"].Profiles, "notifications") {
		t.Error("nats is not behind the notifications profile")
	}
	for name, svc := range c.Services {
		if strings.HasSuffix(svc.Image, ":latest") || !strings.Contains(svc.Image, ":") && name != "kluis" {
			t.Errorf("%s: image %q is not pinned", name, svc.Image)
		}
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				continue // a bind mount (certificates), not state
			}
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: volume %q is not a named volume", name, src)
			}
		}
	}
	if !slices.Contains(kluis.Volumes, "kluis-data:/data") {
		t.Errorf("kluis volumes %v, want kluis-data:/data", kluis.Volumes)
	}

	// Secrets are references to .env, never values: required ones, or
	// optional ones empty by default.
	secretish := regexp.MustCompile(`(?i)(secret|password|access_key)`)
	for name, svc := range c.Services {
		var vars map[string]string
		var list []string
		envNode := svc.Environment
		if envNode.Kind == yaml.MappingNode {
			envNode.Decode(&vars)
		} else {
			envNode.Decode(&list)
			vars = map[string]string{}
			for _, kv := range list {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
		}
		for k, v := range vars {
			if secretish.MatchString(k) && !regexp.MustCompile(`^\$\{[A-Z0-9_]+(:\?[^}]+|:-)\}$`).MatchString(v) {
				t.Errorf("%s: %s=%q, want a required reference to docker/.env", name, k, v)
			}
		}
	}

	// Every setting reaches Kluis, and is documented.
	inCompose := map[string]bool{}
	for _, kv := range kluisEnvironment(t, c) {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("kluis environment entry %q is not KEY=value", kv)
		}
		inCompose[k] = true
	}
	example, err := os.ReadFile("docker/.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range settingNames(t) {
		if !inCompose[name] {
			t.Errorf("the kluis service of docker/compose.yaml does not pass %s", name)
		}
		if !regexp.MustCompile(`(?m)^#?` + name + `=`).Match(example) {
			t.Errorf("docker/.env.example does not document %s", name)
		}
	}
	// And every ${VAR} of the compose file is in .env.example.
	compose, _ := os.ReadFile("docker/compose.yaml")
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(string(compose), -1) {
		if !regexp.MustCompile(`(?m)^#?` + m[1] + `=`).Match(example) {
			t.Errorf("docker/compose.yaml reads ${%s}, which docker/.env.example does not document", m[1])
		}
	}
}

// TestBuildScript builds the binary with .ci/build, the Dockerfile's way,
// checks that it is static and stripped, and runs it: with the filesystem
// backend, and with the environment of docker/compose.yaml's kluis
// service against the MinIO of .ci/test, through liveness, readiness, a
// pod sign-up with a password login, a metrics scrape, its own
// -healthcheck and a SIGTERM.
func TestBuildScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run .ci/build: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "out", "kluis")
	const testVersion = "v0.0.0-buildtest"
	build := exec.Command(bash, ".ci/build", bin)
	build.Env = append(os.Environ(), "KLUIS_VERSION="+testVersion)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf(".ci/build: %v\n%s", err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -s -w were not applied")
	}
	f.Close()

	out, err := exec.Command(bin, "-version").Output()
	if err != nil || string(out) != "kluis "+testVersion+"\n" {
		t.Fatalf("kluis -version: %q, %v", out, err)
	}

	t.Run("filesystem", func(t *testing.T) {
		p := startBinary(t, bin, []string{"KLUIS_ADDR=127.0.0.1:0", "KLUIS_DATA=" + t.TempDir()})
		if status, body := request(t, "GET", p.url+".well-known/kluis/live", "", ""); status != 200 {
			t.Fatalf("liveness: %d %q", status, body)
		}
		p.stop(t)
	})

	t.Run("compose environment with MinIO", func(t *testing.T) {
		if os.Getenv("KLUIS_S3_ENDPOINT") == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("KLUIS_S3_ENDPOINT is not set: run the tests with bash .ci/test, which starts MinIO")
			}
			t.Skip("KLUIS_S3_ENDPOINT is not set (bash .ci/test starts MinIO and sets it)")
		}
		composeEnv := kluisEnvironment(t, readCompose(t))
		// What .env would hold, from the test's MinIO.
		dotEnv := map[string]string{
			"KLUIS_BASE_URL":      "http://replaced.invalid/",
			"KLUIS_S3_BUCKET":     os.Getenv("KLUIS_S3_BUCKET"),
			"KLUIS_S3_ACCESS_KEY": os.Getenv("KLUIS_S3_ACCESS_KEY"),
			"KLUIS_S3_SECRET_KEY": os.Getenv("KLUIS_S3_SECRET_KEY"),
			"KLUIS_SECRET_KEY":    base64.StdEncoding.EncodeToString([]byte(strings.Repeat(rand.Text(), 2)[:32])),
		}
		// What differs from the compose network: addresses on this
		// machine, the MinIO of .ci/test, a fresh key prefix, and a base
		// URL derived from the port chosen at listening time.
		replace := map[string]string{
			"KLUIS_ADDR":         "127.0.0.1:0",
			"KLUIS_METRICS_ADDR": "127.0.0.1:0",
			"KLUIS_BASE_URL":     "",
			"KLUIS_DATA":         t.TempDir(),
			"KLUIS_S3_ENDPOINT":  os.Getenv("KLUIS_S3_ENDPOINT"),
			"KLUIS_S3_TLS":       os.Getenv("KLUIS_S3_TLS"),
			"KLUIS_S3_REGION":    os.Getenv("KLUIS_S3_REGION"),
			"KLUIS_S3_PREFIX":    "compose-" + strings.ToLower(rand.Text()[:12]) + "/",
		}
		var environ []string
		for _, kv := range composeEnv {
			k, v, _ := strings.Cut(kv, "=")
			v, err := interpolate(v, dotEnv)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := replace[k]; ok {
				v = r
			}
			environ = append(environ, k+"="+v)
		}
		p := startBinary(t, bin, environ)
		if !strings.Contains(p.stderr.String(), `"storage":"s3"`) || !strings.Contains(p.stderr.String(), `"version":"`+testVersion+`"`) {
			t.Errorf("the startup log does not show the s3 storage and the version:\n%s", p.stderr)
		}
		if strings.Contains(p.stderr.String(), os.Getenv("KLUIS_S3_SECRET_KEY")) {
			t.Error("the log shows the S3 secret key")
		}
		if strings.Contains(p.stderr.String(), dotEnv["KLUIS_SECRET_KEY"]) {
			t.Error("the log shows the secret key")
		}
		for _, probe := range []string{"live", "ready"} {
			if status, body := request(t, "GET", p.url+".well-known/kluis/"+probe, "", ""); status != 200 {
				t.Fatalf("%s: %d %q", probe, status, body)
			}
		}
		signUp(t, p.url)

		status, body := request(t, "GET", p.metricsURL, "", "")
		if status != 200 {
			t.Fatalf("metrics: %d", status)
		}
		for _, series := range []string{
			`kluis_http_requests_total{method="GET",route="health",status="200"} 2`,
			`kluis_http_requests_total{method="POST",route="account",status="200"}`,
			`kluis_storage_operation_duration_seconds_count{backend="s3",operation="put"}`,
			`kluis_storage_operation_duration_seconds_count{backend="s3",operation="check"} 1`,
			`kluis_build_info{goversion="`,
			`version="` + testVersion + `"} 1`,
		} {
			if !strings.Contains(body, series) {
				t.Errorf("the scrape lacks %s", series)
			}
		}

		// The image's HEALTHCHECK, with the same environment.
		health := func() error {
			cmd := exec.Command(bin, "-healthcheck")
			cmd.Env = append(slices.Clone(environ), "KLUIS_ADDR="+p.addr)
			return cmd.Run()
		}
		if err := health(); err != nil {
			t.Errorf("-healthcheck of the running server: %v", err)
		}
		p.stop(t)
		var exit *exec.ExitError
		if err := health(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("-healthcheck of a stopped server: %v, want exit status 1", err)
		}
	})
}

// binary is the built kluis running in a child process.
type binary struct {
	cmd            *exec.Cmd
	url, addr      string
	metricsURL     string
	stdout, stderr *watcher
	exited         chan struct{}
}

// startBinary starts bin with exactly environ and waits for it to listen
// (and to serve metrics, when KLUIS_METRICS_ADDR is set).
func startBinary(t *testing.T, bin string, environ []string) *binary {
	t.Helper()
	p := &binary{stdout: newWatcher(), stderr: newWatcher(), exited: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	p.url = p.stdout.waitFor(t, listeningLine(), p.exited)[1]
	p.addr = strings.TrimSuffix(strings.TrimPrefix(p.url, "http://"), "/")
	if slices.ContainsFunc(environ, func(kv string) bool {
		return strings.HasPrefix(kv, "KLUIS_METRICS_ADDR=") && kv != "KLUIS_METRICS_ADDR="
	}) {
		p.metricsURL = p.stdout.waitFor(t, regexp.MustCompile(`Kluis serves metrics on (http://\S+)`), p.exited)[1]
	}
	return p
}

// stop sends SIGTERM and wants a clean exit.
func (p *binary) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(waitLimit):
		t.Fatalf("no exit after SIGTERM; log:\n%s", p.stderr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM; log:\n%s", code, p.stderr)
	}
}

// accountAPI sends a request to the account API (JSON body from body when
// not nil, the account token when not ""), fails the test unless it is
// answered 200 with a JSON object, and returns that object.
func accountAPI(t *testing.T, method, u, token string, body any) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "CSS-Account-Token "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v %v", method, u, res.StatusCode, out, err)
	}
	return out
}

// signUp makes an account with a password login and a pod through the
// account API (/.account/, as docker/README.md describes), logs in, and
// reads the new WebID profile.
func signUp(t *testing.T, base string) {
	t.Helper()
	call := func(method, u, token string, body any) map[string]any {
		t.Helper()
		return accountAPI(t, method, u, token, body)
	}
	str := func(m map[string]any, keys ...string) string {
		t.Helper()
		var v any = m
		for _, k := range keys {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		s, ok := v.(string)
		if !ok || s == "" {
			t.Fatalf("no %s in %v", strings.Join(keys, "."), m)
		}
		return s
	}
	index := call("GET", base+".account/", "", nil)
	token := str(call("POST", str(index, "controls", "account", "create"), "", nil), "authorization")
	controls := call("GET", base+".account/", token, nil)
	const email, password = "alice@example.org", "a long enough password"
	call("POST", str(controls, "controls", "password", "create"), token, map[string]string{"email": email, "password": password})
	pod := call("POST", str(controls, "controls", "account", "pod"), token, map[string]string{"name": "alice"})
	if got := str(pod, "pod"); got != base+"alice/" {
		t.Errorf("pod %s, want %salice/", got, base)
	}
	login := call("POST", str(index, "controls", "password", "login"), "", map[string]string{"email": email, "password": password})
	str(login, "authorization")
	webID := str(pod, "webId")
	if status, body := request(t, "GET", strings.TrimSuffix(webID, "#me"), "", ""); status != 200 || !strings.Contains(body, "oidcIssuer") {
		t.Errorf("the WebID profile: %d %q", status, body)
	}
}
