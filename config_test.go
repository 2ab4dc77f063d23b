package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// env makes a getenv from a map, so tests never touch the real
// environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// s3Env is a complete set of S3 settings from the environment.
func s3Env() map[string]string {
	return map[string]string{
		"KLUIS_STORAGE":       "s3",
		"KLUIS_S3_ENDPOINT":   "minio:9000",
		"KLUIS_S3_BUCKET":     "pods",
		"KLUIS_S3_ACCESS_KEY": "AKIA-ACCESS-ID",
		"KLUIS_S3_SECRET_KEY": "s3cr3t-v4lue",
	}
}

func TestLoadConfigGood(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			want := Config{Addr: ":3000", BaseURL: "http://localhost:3000/", Storage: "fs", Data: "./data",
				S3: S3Config{TLS: true, PathStyle: true}, LogLevel: slog.LevelInfo, LogFormat: "text",
				MaxBody: 1 << 30, ShutdownTimeout: 30 * time.Second, PodMode: "path", WACOrigin: "named", DataBrowser: "embedded",
				AccessLog: true, AccessLogMaxAge: 180 * 24 * time.Hour,
				BodyTimeout: 30 * time.Second, BodyMinRate: 1 << 10, MaxPatch: 1 << 20, MaxConnsPerClient: 100,
				MaxRDF: 16 << 20, MaxTriples: 200_000}
			if fmt.Sprint(c) != fmt.Sprint(want) || c.S3 != want.S3 {
				t.Errorf("got %v\nwant %v", c, want)
			}
		}},
		{"environment", nil, map[string]string{"KLUIS_ADDR": "127.0.0.1:8080", "KLUIS_DATA": "/srv/kluis",
			"KLUIS_LOG_LEVEL": "debug", "KLUIS_LOG_FORMAT": "json", "KLUIS_MAX_BODY": "10MiB",
			"KLUIS_SHUTDOWN_TIMEOUT": "5s"}, func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:8080" || c.BaseURL != "http://127.0.0.1:8080/" || c.Data != "/srv/kluis" ||
				c.LogLevel != slog.LevelDebug || c.LogFormat != "json" || c.MaxBody != 10<<20 ||
				c.ShutdownTimeout != 5*time.Second {
				t.Errorf("got %v", c)
			}
		}},
		{"flags override the environment", []string{"-addr", ":2", "-log-level=error"},
			map[string]string{"KLUIS_ADDR": ":1", "KLUIS_LOG_LEVEL": "debug"}, func(t *testing.T, c Config) {
				if c.Addr != ":2" || c.BaseURL != "http://localhost:2/" || c.LogLevel != slog.LevelError {
					t.Errorf("got %v", c)
				}
			}},
		{"a good flag overrides a bad environment value", []string{"-max-body", "4 KiB", "-s3-tls=false"},
			map[string]string{"KLUIS_MAX_BODY": "lots", "KLUIS_S3_TLS": "maybe"}, func(t *testing.T, c Config) {
				if c.MaxBody != 4096 || c.S3.TLS {
					t.Errorf("got %v", c)
				}
			}},
		{"request limits", []string{"-body-min-rate", "4KiB", "-max-conns-per-client", "0"},
			map[string]string{"KLUIS_BODY_TIMEOUT": "5s", "KLUIS_MAX_PATCH": "256KiB", "KLUIS_BODY_MIN_RATE": "1"}, func(t *testing.T, c Config) {
				if c.BodyTimeout != 5*time.Second || c.BodyMinRate != 4<<10 || c.MaxPatch != 256<<10 || c.MaxConnsPerClient != 0 {
					t.Errorf("got %v", c)
				}
				if n := connsPerClient(c.MaxConnsPerClient); n >= 0 {
					t.Errorf("-max-conns-per-client 0 gives server.Config.MaxConnsPerClient %d, want no bound (< 0)", n)
				}
			}},
		{"pod quota with a unit", nil, map[string]string{"KLUIS_POD_QUOTA": "10GiB"}, func(t *testing.T, c Config) {
			if c.PodQuota != 10<<30 {
				t.Errorf("PodQuota = %d", c.PodQuota)
			}
		}},
		{"base URL gets its slash", []string{"-base-url", " https://pod.example.org "}, nil,
			func(t *testing.T, c Config) {
				if c.BaseURL != "https://pod.example.org/" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			}},
		{"port chosen when listening", []string{"-addr", "127.0.0.1:0"}, nil, func(t *testing.T, c Config) {
			if c.BaseURL != "" {
				t.Errorf("BaseURL = %q, want it left to run", c.BaseURL)
			}
		}},
		{"unspecified IPv6 host", []string{"-addr", "[::]:3000"}, nil, func(t *testing.T, c Config) {
			if c.BaseURL != "http://localhost:3000/" {
				t.Errorf("BaseURL = %q", c.BaseURL)
			}
		}},
		{"IPv6 host", []string{"-addr", "[::1]:3000"}, nil, func(t *testing.T, c Config) {
			if c.BaseURL != "http://[::1]:3000/" {
				t.Errorf("BaseURL = %q", c.BaseURL)
			}
		}},
		{"s3", []string{"-s3-prefix", "kluis", "-s3-region", "eu-west-1", "-s3-path-style=false"}, s3Env(),
			func(t *testing.T, c Config) {
				want := S3Config{Endpoint: "minio:9000", Bucket: "pods", Prefix: "kluis/", Region: "eu-west-1",
					TLS: true, AccessKey: "AKIA-ACCESS-ID", SecretKey: "s3cr3t-v4lue"}
				if c.Storage != "s3" || c.S3 != want {
					t.Errorf("got %#v", c.S3)
				}
			}},
		{"mail", []string{"-mail-from", "Kluis <noreply@pods.example>"},
			map[string]string{"KLUIS_SMTP_URL": " smtp://kluis:s3cr3t-v4lue@mail.example:587 "}, func(t *testing.T, c Config) {
				if c.Mail.SMTPURL != "smtp://kluis:s3cr3t-v4lue@mail.example:587" || c.Mail.From != "Kluis <noreply@pods.example>" {
					t.Errorf("got %#v", c.Mail)
				}
			}},
		{"mail from the environment, implicit TLS", nil,
			map[string]string{"KLUIS_SMTP_URL": "smtps://mail.example", "KLUIS_MAIL_FROM": "noreply@pods.example"}, func(t *testing.T, c Config) {
				if c.Mail.SMTPURL != "smtps://mail.example" || c.Mail.From != "noreply@pods.example" {
					t.Errorf("got %#v", c.Mail)
				}
			}},
		{"bare bool flag", []string{"-s3-tls"}, map[string]string{"KLUIS_S3_TLS": "false"},
			func(t *testing.T, c Config) {
				if !c.S3.TLS {
					t.Error("-s3-tls alone did not set TLS")
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, env(tc.env))
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadConfigBad(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		// want are the parts the one error must name.
		want []string
	}{
		{"storage", []string{"-storage", "nfs"}, nil, []string{"-storage", `"nfs"`}},
		{"s3 needs everything", []string{"-storage", "s3"}, nil,
			[]string{"-s3-endpoint", "-s3-bucket", "KLUIS_S3_ACCESS_KEY", "KLUIS_S3_SECRET_KEY"}},
		{"s3 endpoint with a scheme", []string{"-s3-endpoint", "https://minio:9000"}, s3Env(), []string{"-s3-endpoint", "-s3-tls"}},
		{"s3 prefix", []string{"-s3-prefix", "../x"}, s3Env(), []string{"-s3-prefix"}},
		{"base URL scheme", []string{"-base-url", "ftp://pod.example/"}, nil, []string{"-base-url"}},
		{"base URL relative", []string{"-base-url", "pod.example/"}, nil, []string{"-base-url"}},
		{"base URL query", []string{"-base-url", "https://pod.example/?a=b"}, nil, []string{"-base-url", "query"}},
		{"base URL user", []string{"-base-url", "https://user:pw@pod.example/"}, nil, []string{"-base-url", "user"}},
		{"addr", []string{"-addr", "nonsense"}, nil, []string{"-addr"}},
		{"log level", []string{"-log-level", "loud"}, nil, []string{"-log-level", "loud"}},
		{"log level from the environment", nil, map[string]string{"KLUIS_LOG_LEVEL": "loud"},
			[]string{"-log-level", "KLUIS_LOG_LEVEL"}},
		{"log format", nil, map[string]string{"KLUIS_LOG_FORMAT": "xml"}, []string{"-log-format", "KLUIS_LOG_FORMAT"}},
		{"max body unit", []string{"-max-body", "10XB"}, nil, []string{"-max-body", "XB"}},
		{"max body zero", []string{"-max-body", "0"}, nil, []string{"-max-body"}},
		{"max body negative", []string{"-max-body", "-5"}, nil, []string{"-max-body"}},
		{"fetch allow not a range", []string{"-fetch-allow", "127.0.0.1,nonsense"}, nil, []string{"-fetch-allow"}},
		{"max body overflow", []string{"-max-body", "99999999999TiB"}, nil, []string{"-max-body"}},
		{"shutdown timeout", nil, map[string]string{"KLUIS_SHUTDOWN_TIMEOUT": "soon"}, []string{"-shutdown-timeout"}},
		{"pod quota", nil, map[string]string{"KLUIS_POD_QUOTA": "lots"}, []string{"-pod-quota", "KLUIS_POD_QUOTA"}},
		{"pod quota negative", []string{"-pod-quota", "-5"}, nil, []string{"-pod-quota"}},
		{"shutdown timeout zero", []string{"-shutdown-timeout", "0s"}, nil, []string{"-shutdown-timeout"}},
		{"body timeout zero", []string{"-body-timeout", "0s"}, nil, []string{"-body-timeout"}},
		{"body timeout", nil, map[string]string{"KLUIS_BODY_TIMEOUT": "soon"}, []string{"-body-timeout", "KLUIS_BODY_TIMEOUT"}},
		{"body min rate zero", nil, map[string]string{"KLUIS_BODY_MIN_RATE": "0"}, []string{"-body-min-rate", "KLUIS_BODY_MIN_RATE"}},
		{"max patch zero", []string{"-max-patch", "0"}, nil, []string{"-max-patch"}},
		{"max rdf zero", nil, map[string]string{"KLUIS_MAX_RDF": "0"}, []string{"-max-rdf", "KLUIS_MAX_RDF"}},
		{"max triples not a count", []string{"-max-triples", "many"}, nil, []string{"-max-triples"}},
		{"max patch unit", []string{"-max-patch", "1XB"}, nil, []string{"-max-patch", "XB"}},
		{"max conns negative", []string{"-max-conns-per-client", "-1"}, nil, []string{"-max-conns-per-client", "not be negative"}},
		{"max conns not a number", nil, map[string]string{"KLUIS_MAX_CONNS_PER_CLIENT": "many"}, []string{"-max-conns-per-client", "KLUIS_MAX_CONNS_PER_CLIENT"}},
		{"bool", nil, map[string]string{"KLUIS_S3_PATH_STYLE": "maybe"}, []string{"-s3-path-style", "KLUIS_S3_PATH_STYLE"}},
		{"everything at once", []string{"-storage", "s3", "-log-level", "loud", "-max-body", "x", "-base-url", "ftp://x/"},
			map[string]string{"KLUIS_LOG_FORMAT": "xml", "KLUIS_SHUTDOWN_TIMEOUT": "soon", "KLUIS_S3_TLS": "maybe"},
			[]string{"-storage", "-log-level", "-max-body", "-base-url", "-log-format", "-shutdown-timeout", "-s3-tls",
				"-s3-endpoint", "-s3-bucket", "KLUIS_S3_ACCESS_KEY", "KLUIS_S3_SECRET_KEY"}},
		{"pod mode unknown", []string{"-pod-mode", "subdomains"}, nil, []string{"-pod-mode", "not path, subdomain or none"}},
		{"pod mode", nil, map[string]string{"KLUIS_POD_MODE": "everywhere"}, []string{"-pod-mode", "KLUIS_POD_MODE", `"everywhere"`}},
		{"origin policy", nil, map[string]string{"KLUIS_WAC_ORIGIN": "lenient"}, []string{"-wac-origin", "KLUIS_WAC_ORIGIN", `"lenient"`, "not named or strict"}},
		{"data browser, no such folder", nil, map[string]string{"KLUIS_DATA_BROWSER": "/no/such/mashlib"}, []string{"-data-browser", "KLUIS_DATA_BROWSER", `"/no/such/mashlib"`, "not embedded, off, a URL or a folder"}},
		{"access log kept past its keys", nil, map[string]string{"KLUIS_ACCESS_LOG_MAX_AGE": "20000h"}, []string{"-access-log-max-age", "KLUIS_ACCESS_LOG_MAX_AGE", "at most 9480h"}},
		{"access log, negative size", []string{"-access-log-max-size", "-1"}, nil, []string{"-access-log-max-size"}},
		{"data browser, URL with a query", []string{"-data-browser", "https://cdn.example/m/?v=1"}, nil, []string{"-data-browser", "not a plain http(s) URL"}},
		{"SMTP URL scheme", nil, map[string]string{"KLUIS_SMTP_URL": "https://u:s3cr3t-v4lue@mail.example", "KLUIS_MAIL_FROM": "noreply@pods.example"},
			[]string{"KLUIS_SMTP_URL", "smtp://"}},
		{"SMTP URL with a path", nil, map[string]string{"KLUIS_SMTP_URL": "smtp://u:s3cr3t-v4lue@mail.example/x", "KLUIS_MAIL_FROM": "noreply@pods.example"},
			[]string{"KLUIS_SMTP_URL", "no path"}},
		{"SMTP URL port", nil, map[string]string{"KLUIS_SMTP_URL": "smtp://u:s3cr3t-v4lue@mail.example:0", "KLUIS_MAIL_FROM": "noreply@pods.example"},
			[]string{"KLUIS_SMTP_URL", "port"}},
		{"SMTP URL without From", nil, map[string]string{"KLUIS_SMTP_URL": "smtp://u:s3cr3t-v4lue@mail.example"},
			[]string{"-mail-from", "KLUIS_MAIL_FROM", "required"}},
		{"From not an address", []string{"-mail-from", "Kluis"}, map[string]string{"KLUIS_SMTP_URL": "smtp://mail.example"},
			[]string{"-mail-from", "not an e-mail address"}},
		{"From without an SMTP URL", nil, map[string]string{"KLUIS_MAIL_FROM": "noreply@pods.example"},
			[]string{"-mail-from", "KLUIS_SMTP_URL"}},
		{"no flag for the SMTP URL", []string{"-smtp-url", "smtp://u:s3cr3t-v4lue@mail.example"}, nil, []string{"-smtp-url"}},
		{"unknown flag", []string{"-port", "3000"}, nil, []string{"-port"}},
		{"no flag for secrets", []string{"-s3-secret-key=s3cr3t-v4lue"}, nil, []string{"-s3-secret-key"}},
		{"positional arguments", []string{"s3cr3t-v4lue"}, nil, []string{"unexpected argument"}},
		{"secret key too short", nil, map[string]string{"KLUIS_SECRET_KEY": "c2hvcnQtc2VjcmV0"}, []string{"KLUIS_SECRET_KEY", "12 bytes, not 32"}},
		{"secret key not base64", nil, map[string]string{"KLUIS_SECRET_KEY": "short secret!"}, []string{"KLUIS_SECRET_KEY", "not base64"}},
		{"previous secret key alone", nil, map[string]string{"KLUIS_PREVIOUS_SECRET_KEY": testSecretKey}, []string{"KLUIS_PREVIOUS_SECRET_KEY", "without"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(tc.args, env(tc.env))
			if err == nil {
				t.Fatal("loadConfig accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not name %q:\n%v", w, err)
				}
			}
			for _, leak := range []string{"s3cr3t-v4lue", "pw@", "c2hvcnQtc2VjcmV0", "short secret", testSecretKey} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the error shows %q:\n%v", leak, err)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{Addr: "x", BaseURL: "ftp://x/", Storage: "s3", LogFormat: "xml"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted it")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) < 9 {
		t.Errorf("got %d problems, want every one:\n%v", len(lines), err)
	}
	for _, w := range []string{"-addr", "-base-url", "-s3-endpoint", "-s3-bucket", "KLUIS_S3_ACCESS_KEY",
		"KLUIS_S3_SECRET_KEY", "-log-format", "-max-body", "-shutdown-timeout"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not name %q:\n%v", w, err)
		}
	}
}

func TestHelpFlag(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		if _, err := loadConfig([]string{arg}, env(nil)); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: err = %v, want flag.ErrHelp", arg, err)
		}
	}
	var b bytes.Buffer
	printUsage(&b, env(map[string]string{"KLUIS_S3_SECRET_KEY": "s3cr3t-v4lue", "KLUIS_SMTP_URL": "smtp://u:s3cr3t-v4lue@mail.example"}))
	for _, w := range []string{"-addr", "KLUIS_ADDR", "-max-body", "KLUIS_S3_SECRET_KEY", "KLUIS_SMTP_URL", "-mail-from", "KLUIS_MAIL_FROM"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("usage lacks %q", w)
		}
	}
	if strings.Contains(b.String(), "s3cr3t-v4lue") {
		t.Error("usage shows the secret key")
	}
}

// testSecretKey is a valid KLUIS_SECRET_KEY (32 bytes, base64).
const testSecretKey = "q8Vb3n8I1Qx0aDq8w4B0m6G9cR2sT5uV7yZ1eF3hJ5k="

// TestSecretKeys: the identity provider's secret keys decode from base64
// in either alphabet, padded or not, to 32 bytes.
func TestSecretKeys(t *testing.T) {
	for _, v := range []string{testSecretKey, strings.TrimRight(testSecretKey, "="), "-_" + testSecretKey[2:]} {
		c, err := loadConfig(nil, env(map[string]string{"KLUIS_SECRET_KEY": v, "KLUIS_PREVIOUS_SECRET_KEY": testSecretKey}))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		for _, k := range []secret{c.SecretKey, c.PreviousSecretKey} {
			if b, err := k.bytes(); err != nil || len(b) != 32 {
				t.Errorf("%q: %d bytes, %v", v, len(b), err)
			}
		}
	}
	if b, err := secret("").bytes(); b != nil || err != nil {
		t.Errorf("no key: %v, %v", b, err)
	}
}

func TestConfigNeverShowsSecrets(t *testing.T) {
	e := s3Env()
	e["KLUIS_SECRET_KEY"], e["KLUIS_PREVIOUS_SECRET_KEY"] = testSecretKey, "Zm9yIHRoZSBwcmV2aW91cyBrZXksIDMyIGJ5dGVzISE="
	e["KLUIS_SMTP_URL"] = "smtps://AKIA-ACCESS-ID:s3cr3t-v4lue@mail.example"
	e["KLUIS_MAIL_FROM"] = "noreply@pods.example"
	c, err := loadConfig(nil, env(e))
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c, "s3", c.S3, "key", c.S3.SecretKey)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", c, "s3", c.S3, "key", c.S3.SecretKey)
	marshalled, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String":      c.String(),
		"%v":          fmt.Sprintf("%v", c),
		"%+v":         fmt.Sprintf("%+v", c),
		"%#v":         fmt.Sprintf("%#v", c),
		"%v of S3":    fmt.Sprintf("%v", c.S3),
		"%+v of S3":   fmt.Sprintf("%+v", c.S3),
		"%#v of S3":   fmt.Sprintf("%#v", c.S3),
		"%s of key":   fmt.Sprintf("%s", c.S3.SecretKey),
		"%#v of mail": fmt.Sprintf("%#v", c.Mail),
		"%v of SMTP":  fmt.Sprintf("%v", c.Mail.SMTPURL),
		"slog text":   text.String(),
		"slog json":   js.String(),
		"json":        string(marshalled),
		"s3 in text":  text.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "s3cr3t-v4lue") {
			t.Errorf("%s shows the secret key: %s", name, out)
		}
		if strings.Contains(out, "AKIA-ACCESS-ID") {
			t.Errorf("%s shows the access key: %s", name, out)
		}
		if strings.Contains(out, testSecretKey[:20]) || strings.Contains(out, "Zm9yIHRoZSBwcmV2") {
			t.Errorf("%s shows a secret key of the identity provider: %s", name, out)
		}
	}
	if !strings.Contains(c.String(), "secret_key=\"[redacted]\"") || !strings.Contains(c.String(), "bucket=\"pods\"") ||
		!strings.Contains(c.String(), "mail.smtp_url=\"[redacted]\"") || !strings.Contains(c.String(), "mail.from=\"noreply@pods.example\"") {
		t.Errorf("String() = %s, want the settings with the secret redacted", c.String())
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"512", 512, true},
		{"512B", 512, true},
		{"10kB", 10_000, true},
		{"10KiB", 10 << 10, true},
		{"10 MiB", 10 << 20, true},
		{"10mib", 10 << 20, true},
		{"1GB", 1_000_000_000, true},
		{"1GiB", 1 << 30, true},
		{"2TiB", 2 << 40, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"1.5GiB", 0, false},
		{"-1", 0, false},
		{"10XB", 0, false},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"8388608TiB", 0, false},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, n := range []int64{1, 1000, 1 << 10, 3 << 20, 1 << 30, 5 << 40} {
		if got, err := parseSize(formatSize(n)); err != nil || got != n {
			t.Errorf("parseSize(formatSize(%d)) = %d, %v", n, got, err)
		}
	}
}
