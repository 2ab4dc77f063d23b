package main

import (
	"bufio"
	"flag"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server/tracing"
)

// configTablePath is the page that holds the configuration table.
const configTablePath = "docs/hosting.md"

// configRow is one row of the configuration table.
type configRow struct {
	line    int
	flag    string   // "-addr", or "" for a variable without a flag
	envs    []string // the variables the row names
	dflt    string   // the default cell as written
	meaning string
}

// codeSpan is one `...` span of Markdown.
var codeSpan = regexp.MustCompile("`([^`]*)`")

// readConfigTable parses the table whose header is
// "| flag | environment | default | meaning |".
func readConfigTable(t *testing.T) []configRow {
	t.Helper()
	f, err := os.Open(configTablePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []configRow
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		cells := tableCells(line)
		switch {
		case !in && slices.Equal(cells, []string{"flag", "environment", "default", "meaning"}):
			in = true
			continue
		case !in:
			continue
		case cells == nil:
			if len(rows) > 0 {
				return rows
			}
			continue
		case strings.HasPrefix(cells[0], "---"):
			continue
		}
		if len(cells) != 4 {
			t.Errorf("%s:%d: %d cells, want 4", configTablePath, n, len(cells))
			continue
		}
		r := configRow{line: n, dflt: cells[2], meaning: cells[3]}
		if cells[0] != "" {
			m := codeSpan.FindStringSubmatch(cells[0])
			if m == nil || m[0] != cells[0] {
				t.Errorf("%s:%d: flag cell %q is not one `-flag`", configTablePath, n, cells[0])
				continue
			}
			r.flag = m[1]
		}
		for _, m := range codeSpan.FindAllStringSubmatch(cells[1], -1) {
			r.envs = append(r.envs, m[1])
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no configuration table (| flag | environment | default | meaning |)", configTablePath)
	}
	return rows
}

// tableCells splits a Markdown table row into trimmed cells; nil when the
// line is not a row.
func tableCells(line string) []string {
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	var cells []string
	var b strings.Builder
	body := line[1 : len(line)-1]
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] == '\\' && i+1 < len(body) && body[i+1] == '|':
			b.WriteByte('|')
			i++
		case body[i] == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(body[i])
		}
	}
	return append(cells, strings.TrimSpace(b.String()))
}

// declaredSettings builds the program's flag set over an empty environment
// and returns its flags and every variable it reads: a flag's variable is
// the one its help names, and the others (secrets, OTEL_*) are those read
// without a flag.
func declaredSettings(t *testing.T) (flags map[string]*flag.Flag, flagEnv map[string]string, envOnly map[string]bool) {
	t.Helper()
	var read []string
	getenv := func(name string) string {
		read = append(read, name)
		return ""
	}
	var cfg Config
	l := newLoader(&cfg, getenv)
	flags, flagEnv, envOnly = map[string]*flag.Flag{}, map[string]string{}, map[string]bool{}
	re := regexp.MustCompile(`\(\$([A-Z0-9_]+)\)$`)
	l.fs.VisitAll(func(f *flag.Flag) {
		flags["-"+f.Name] = f
		if m := re.FindStringSubmatch(f.Usage); m != nil {
			flagEnv["-"+f.Name] = m[1]
		} else {
			t.Errorf("the help of -%s names no variable", f.Name)
		}
	})
	for _, name := range read {
		if !slices.Contains(slices.Collect(maps.Values(flagEnv)), name) {
			envOnly[name] = true
		}
	}
	return flags, flagEnv, envOnly
}

// envOnlyDefaults are the defaults of variables without a flag that the
// code states; the table's default of any other such variable must be
// empty or words.
var envOnlyDefaults = map[string]string{
	"OTEL_EXPORTER_OTLP_ENDPOINT": strings.TrimSuffix(tracing.DefaultEndpoint, "/v1/traces"),
	"OTEL_SERVICE_NAME":           tracing.DefaultServiceName,
}

// TestDocsConfiguration keeps the configuration table of docs/hosting.md
// true: every flag of the program and every variable it reads has a row,
// every row names a real flag or variable, a flag sits beside its own
// variable, and a default written as one code span is the real one. A
// default written in words stands for one worked out from other settings,
// so the flag's own default must then be empty.
func TestDocsConfiguration(t *testing.T) {
	rows := readConfigTable(t)
	flags, flagEnv, envOnly := declaredSettings(t)

	seenFlag, seenEnv := map[string]int{}, map[string]int{}
	for _, r := range rows {
		at := func(format string, a ...any) {
			t.Helper()
			t.Errorf("%s:%d: "+format, append([]any{configTablePath, r.line}, a...)...)
		}
		if strings.TrimSpace(r.meaning) == "" {
			at("no meaning")
		}
		if len(r.envs) == 0 {
			at("no environment variable")
			continue
		}
		for _, e := range r.envs {
			if prev, ok := seenEnv[e]; ok {
				at("%s is already on line %d", e, prev)
			}
			seenEnv[e] = r.line
		}
		dflt, isCode := r.dflt, false
		if m := codeSpan.FindStringSubmatch(r.dflt); m != nil && m[0] == r.dflt {
			dflt, isCode = m[1], true
		}

		if r.flag != "" {
			f, ok := flags[r.flag]
			if !ok {
				at("%s is not a flag of kluis", r.flag)
				continue
			}
			if prev, ok := seenFlag[r.flag]; ok {
				at("%s is already on line %d", r.flag, prev)
			}
			seenFlag[r.flag] = r.line
			if len(r.envs) != 1 || r.envs[0] != flagEnv[r.flag] {
				at("%s defaults from $%s, but the row names %v", r.flag, flagEnv[r.flag], r.envs)
			}
			switch {
			case isCode && dflt != f.DefValue:
				at("%s: the table's default is %q, the flag's is %q", r.flag, dflt, f.DefValue)
			case !isCode && r.dflt != "" && f.DefValue != "":
				at("%s: the table describes a default in words (%q), but the flag's own is %q", r.flag, r.dflt, f.DefValue)
			case r.dflt == "" && f.DefValue != "":
				at("%s: the table gives no default, the flag's is %q", r.flag, f.DefValue)
			}
			continue
		}

		for _, e := range r.envs {
			if !envOnly[e] {
				if slices.Contains(slices.Collect(maps.Values(flagEnv)), e) {
					at("$%s belongs to a flag: name the flag in the row", e)
				} else {
					at("$%s is not read by kluis", e)
				}
			}
		}
		if isCode {
			want, known := envOnlyDefaults[r.envs[0]]
			switch {
			case len(r.envs) != 1 || !known:
				at("%v: a default in code for a variable whose default the test cannot check; write it in words", r.envs)
			case dflt != want:
				at("$%s: the table's default is %q, the code's is %q", r.envs[0], dflt, want)
			}
		}
	}

	for _, name := range slices.Sorted(maps.Keys(flags)) {
		if _, ok := seenFlag[name]; !ok {
			t.Errorf("%s: flag %s ($%s) has no row", configTablePath, name, flagEnv[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(envOnly)) {
		if _, ok := seenEnv[name]; !ok {
			t.Errorf("%s: variable $%s, read without a flag, has no row", configTablePath, name)
		}
	}
}
