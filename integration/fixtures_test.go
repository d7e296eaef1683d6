package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/stacksync/stacksync/integration/harness"
)

var fixtures = flag.Bool("fixtures", false, "regenerate examples/ and testdata with the real pulumi")

// Values the generated fixtures use. The passphrase is documented in
// examples/README.md.
const (
	fixturePassphrase = "correct horse battery staple"
	fixtureKMSStack   = "dev.my-service.us-west-2"
	fixturePassStack  = "staging"
	// fixtureProgram is the YAML program `pulumi up` deploys for the
	// deployed/compressed checkpoints: outputs only, so no provider plugin
	// is needed, and one secret output so the checkpoint holds ciphertext.
	fixtureProgram = `outputs:
  greeting: hello
  answer: 42
  tags:
    env: dev
    team: platform
  token:
    fn::secret: s3cr3t-token
`
)

// TestGenerateFixtures regenerates, with the real pulumi CLI, local-kms and
// file:// backends:
//
//   - examples/backend/  a file:// backend with project demo, stacks
//     dev.my-service.us-west-2 (awskms) and staging (passphrase);
//   - examples/project/  Pulumi.yaml plus each stack's settings file as
//     pulumi regenerates it after the original was lost;
//   - examples/README.md where each file came from;
//   - pkg/state/testdata/checkpoints/  real checkpoints plus MANIFEST.md.
//
// It rewrites files in the repository, so it runs only with -fixtures
// (make fixtures); without it it skips.
func TestGenerateFixtures(t *testing.T) {
	if !*fixtures {
		t.Skip("rewrites examples/ and pkg/state/testdata/checkpoints/; run with -fixtures (make fixtures)")
	}
	root, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	k := harness.StartKMS(t)
	m := &manifest{}

	ex := generateExamples(t, k)
	generateCheckpoints(t, k, ex, m)

	// Everything was generated; now replace what is in the repository.
	examples := filepath.Join(root, "examples")
	for _, sub := range []string{"backend", "project"} {
		if err := os.RemoveAll(filepath.Join(examples, sub)); err != nil {
			t.Fatal(err)
		}
	}
	copyTree(t, ex.backend, filepath.Join(examples, "backend"))
	writeFile(t, filepath.Join(examples, "project", "Pulumi.yaml"), ex.projectFile)
	for _, st := range ex.stacks {
		writeFile(t, filepath.Join(examples, "project", "Pulumi."+st.name+".yaml"), st.after)
	}
	writeFile(t, filepath.Join(examples, "README.md"), []byte(ex.readme()))

	cpDir := filepath.Join(root, "pkg", "state", "testdata", "checkpoints")
	for _, f := range m.files {
		writeFile(t, filepath.Join(cpDir, f.name), f.data)
	}
	writeFile(t, filepath.Join(cpDir, "MANIFEST.md"), []byte(m.render()))
	t.Logf("wrote %s, %s", examples, cpDir)
}

// fixtureRunner runs one pulumi version against one file:// backend and
// records the commands it ran, with the temp paths replaced by names.
type fixtureRunner struct {
	t       *testing.T
	p       *harness.Pulumi
	backend string // the backend directory
	dir     string // the project directory
	cmds    []string
}

func newFixtureRunner(t *testing.T, version string, k *harness.KMS, program string) *fixtureRunner {
	t.Helper()
	r := &fixtureRunner{
		t:       t,
		p:       harness.NewPulumi(t, version),
		backend: t.TempDir(),
		dir:     harness.NewYAMLProject(t, "demo", program),
	}
	r.p.UseKMS(k)
	r.run(nil, "login", "file://"+r.backend)
	return r
}

// redact replaces the runner's temp paths in s.
func (r *fixtureRunner) redact(s string) string {
	s = strings.ReplaceAll(s, r.backend, "<backend>")
	return strings.ReplaceAll(s, r.dir, "<project>")
}

// cmdline is how a command appears in the manifest.
func (r *fixtureRunner) cmdline(env []string, args []string) string {
	var b strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PULUMI_CONFIG_PASSPHRASE" {
			v = "'" + v + "'"
		}
		b.WriteString(k + "=" + v + " ")
	}
	b.WriteString("pulumi")
	for _, a := range args {
		if strings.ContainsAny(a, "?&' ") {
			a = "'" + a + "'"
		}
		b.WriteString(" " + a)
	}
	return r.redact(b.String())
}

// run runs pulumi and fails the test if it fails.
func (r *fixtureRunner) run(env []string, args ...string) string {
	r.t.Helper()
	r.cmds = append(r.cmds, r.cmdline(env, args))
	return r.p.MustRun(r.dir, env, args...)
}

// try runs pulumi and returns its outputs and exit code.
func (r *fixtureRunner) try(env []string, args ...string) (stdout, stderr string, code int) {
	r.t.Helper()
	r.cmds = append(r.cmds, r.cmdline(env, args))
	o, e, err := r.p.Run(r.dir, env, args...)
	code = 0
	if err != nil {
		code = harness.ExitCode(err)
	}
	return o, e, code
}

func (r *fixtureRunner) settings(stack string) []byte {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// object returns a backend file, e.g. ".pulumi/stacks/demo/dev.json".
func (r *fixtureRunner) object(key string) []byte {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.backend, filepath.FromSlash(key)))
	if err != nil {
		r.t.Fatalf("backend written by pulumi %s lacks %s: %v (has %q)", r.p.Version, key, err, listFiles(r.t, r.backend))
	}
	return b
}

// provider is the secrets provider fields of a settings file (or, for a
// checkpoint, the decoded secrets_providers).
type provider struct {
	Type         string // cloud, passphrase, or "" for none
	URL          string
	EncryptedKey string
	Salt         string
}

// keyID is the awskms key id: the URL's host joined with its path (spec §3.3).
func (p provider) keyID() string {
	if !strings.HasPrefix(p.URL, "awskms://") {
		return ""
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(p.URL, "awskms://"), "?")
	return strings.TrimPrefix(id, "/")
}

// settingsProvider reads the secrets provider fields of a settings file
// pulumi wrote (top-level "key: value" lines).
func settingsProvider(b []byte) provider {
	var p provider
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch k {
		case "secretsprovider":
			p.URL = v
		case "encryptedkey":
			p.EncryptedKey = v
		case "encryptionsalt":
			p.Salt = v
		}
	}
	switch {
	case p.URL != "" && p.URL != "passphrase" && p.URL != "default":
		p.Type = "cloud"
	case p.Salt != "":
		p.Type = "passphrase"
	}
	return p
}

// checkpointInfo decodes a (possibly compressed) checkpoint or export.
type checkpointInfo struct {
	Version     int
	Stack       string
	P           provider
	Lines       int
	Compression string // none, gzip, zstd
	Escaped     bool   // HTML escaping on: "&" written as \u0026
}

func decodeCheckpoint(t *testing.T, data []byte) checkpointInfo {
	t.Helper()
	compression := "none"
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b, 0x08}):
		compression = "gzip"
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		compression = "zstd"
		zr, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		if data, err = zr.DecodeAll(data, nil); err != nil {
			t.Fatal(err)
		}
	}
	var sp struct {
		Type  string `json:"type"`
		State struct {
			URL          string `json:"url"`
			EncryptedKey string `json:"encryptedkey"`
			Salt         string `json:"salt"`
		} `json:"state"`
	}
	var doc struct {
		Version    int `json:"version"`
		Checkpoint *struct {
			Stack  string `json:"stack"`
			Latest *struct {
				SecretsProviders *json.RawMessage `json:"secrets_providers"`
			} `json:"latest"`
		} `json:"checkpoint"`
		Deployment *struct {
			SecretsProviders *json.RawMessage `json:"secrets_providers"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("checkpoint is not JSON: %v\n%s", err, data)
	}
	info := checkpointInfo{
		Version:     doc.Version,
		Lines:       bytes.Count(bytes.TrimSpace(data), []byte("\n")) + 1,
		Compression: compression,
		Escaped:     bytes.Contains(data, []byte(`\u0026`)),
	}
	var raw *json.RawMessage
	switch {
	case doc.Checkpoint != nil:
		info.Stack = doc.Checkpoint.Stack
		if doc.Checkpoint.Latest != nil {
			raw = doc.Checkpoint.Latest.SecretsProviders
		}
	case doc.Deployment != nil:
		raw = doc.Deployment.SecretsProviders
	}
	if raw != nil {
		if err := json.Unmarshal(*raw, &sp); err != nil {
			t.Fatal(err)
		}
		info.P = provider{Type: sp.Type, URL: sp.State.URL, EncryptedKey: sp.State.EncryptedKey, Salt: sp.State.Salt}
	}
	return info
}

// exampleStack is one stack of the examples backend.
type exampleStack struct {
	name     string
	provider string // the --secrets-provider argument
	before   []byte // the settings file pulumi wrote at init and config set
	after    []byte // what pulumi regenerated after the file was lost
	lossCmds []string
	// lossNote describes how the regenerating command ended.
	lossNote string
	// secretCheck is what `pulumi config set --secret` printed afterwards.
	secretCheck string
}

type examples struct {
	r           *fixtureRunner
	backend     string
	projectFile []byte
	stacks      []*exampleStack
	initCmds    []string
}

// generateExamples builds the examples backend and project in temp dirs.
func generateExamples(t *testing.T, k *harness.KMS) *examples {
	r := newFixtureRunner(t, harness.PulumiVersion, k, "")
	ex := &examples{r: r, backend: r.backend}
	pass := []string{"PULUMI_CONFIG_PASSPHRASE=" + fixturePassphrase}

	kms := &exampleStack{name: fixtureKMSStack, provider: r.p.SecretsProviderURL(k)}
	r.run(nil, "stack", "init", kms.name, "--secrets-provider="+kms.provider)
	r.run(nil, "config", "set", "--secret", "apikey", "sk-example-not-a-real-key")
	r.run(nil, "config", "set", "replicas", "3")
	kms.before = r.settings(kms.name)

	ps := &exampleStack{name: fixturePassStack, provider: "passphrase"}
	r.run(pass, "stack", "init", ps.name, "--secrets-provider=passphrase")
	r.run(pass, "config", "set", "--secret", "dbpassword", "example-db-password")
	ps.before = r.settings(ps.name)
	ex.stacks = []*exampleStack{kms, ps}
	ex.initCmds = r.cmds

	// The loss: an ephemeral CI workspace has no settings file. Pulumi,
	// run with no passphrase in the environment, regenerates it.
	for _, st := range ex.stacks {
		want := "cloud"
		if st.provider == "passphrase" {
			want = "passphrase"
		}
		if got := settingsProvider(st.before).Type; got != want {
			t.Fatalf("%s: settings file after init has provider %q, want %q:\n%s", st.name, got, want, st.before)
		}
		path := filepath.Join(r.dir, "Pulumi."+st.name+".yaml")
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		r.cmds = nil
		r.run(nil, "stack", "select", st.name)
		_, e, code := r.try(nil, "config", "set", "test:value", "hello")
		st.lossCmds = r.cmds
		if code == 0 {
			st.lossNote = "exited 0"
		} else {
			st.lossNote = fmt.Sprintf("exited %d: %s", code, strings.TrimSpace(e))
		}
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		st.after = b
		t.Logf("%s: after the loss pulumi %s and left:\n%s", st.name, st.lossNote, b)
		// What the user then sees; this must not change the file.
		_, e, err = r.p.Run(r.dir, nil, "config", "set", "--secret", "x", "y")
		st.secretCheck = "exit 0"
		if err != nil {
			st.secretCheck = fmt.Sprintf("exit %d: %s", harness.ExitCode(err), lastLine(e))
		}
		if b2, _ := os.ReadFile(path); !bytes.Equal(b2, b) {
			t.Fatalf("%s: failing config set --secret changed the file:\n%s", st.name, b2)
		}
	}
	var err error
	if ex.projectFile, err = os.ReadFile(filepath.Join(r.dir, "Pulumi.yaml")); err != nil {
		t.Fatal(err)
	}
	return ex
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// manifest collects the checkpoint fixtures and renders MANIFEST.md.
type manifest struct{ files []*fixtureFile }

type fixtureFile struct {
	name     string
	data     []byte
	version  string // pulumi version
	source   string // the backend object it was copied from, or "stdout"
	commands []string
	info     checkpointInfo // decoded
	want     provider       // expected provider, from the settings file pulumi wrote
	notes    string
}

func (m *manifest) add(t *testing.T, f *fixtureFile) {
	t.Helper()
	f.info = decodeCheckpoint(t, f.data)
	if f.info.P != f.want {
		t.Fatalf("%s: checkpoint records %+v, settings file %+v", f.name, f.info.P, f.want)
	}
	want := map[string]string{".gz": "gzip", ".zst": "zstd"}[filepath.Ext(f.name)]
	if want == "" {
		want = "none"
	}
	if f.info.Compression != want {
		t.Fatalf("%s: compression %s (starts % x)", f.name, f.info.Compression, f.data[:min(4, len(f.data))])
	}
	m.files = append(m.files, f)
}

// generateCheckpoints adds the checkpoint fixtures to m.
func generateCheckpoints(t *testing.T, k *harness.KMS, ex *examples, m *manifest) {
	pass := []string{"PULUMI_CONFIG_PASSPHRASE=" + fixturePassphrase}
	kmsURL := k.SecretsProviderURL(false)
	stacksDir := ".pulumi/stacks/demo/"

	// From the examples backend: the two init checkpoints and the .bak.
	kms, ps := ex.stacks[0], ex.stacks[1]
	m.add(t, &fixtureFile{
		name: "v3.274.1-init-cloud.json", version: harness.PulumiVersion,
		source: stacksDir + kms.name + ".json", commands: ex.initCmds[:2],
		data: ex.r.object(stacksDir + kms.name + ".json"), want: settingsProvider(kms.before),
		notes: "the examples/backend stack; `config set` does not touch the checkpoint",
	})
	m.add(t, &fixtureFile{
		name: "v3.274.1-init-passphrase.json", version: harness.PulumiVersion,
		source: stacksDir + ps.name + ".json", commands: []string{ex.initCmds[0], ex.initCmds[4]},
		data: ex.r.object(stacksDir + ps.name + ".json"), want: settingsProvider(ps.before),
		notes: "the examples/backend stack",
	})
	bak := &fixtureFile{
		name: "v3.274.1-init.json.bak", version: harness.PulumiVersion,
		source: stacksDir + kms.name + ".json.bak", commands: ex.initCmds[:2],
		data:  ex.r.object(stacksDir + kms.name + ".json.bak"),
		notes: "the first of the two writes of `stack init` (spec §2.5), kept as .bak by the second",
	}
	m.add(t, bak)
	if bak.info.Version != 0 || bak.info.P.Type != "" {
		t.Fatalf("%s: version %d provider %+v, want version 0 with no provider:\n%s", bak.name, bak.info.Version, bak.info.P, bak.data)
	}

	// Deployed: a YAML program with outputs, then `stack export`.
	d := newFixtureRunner(t, harness.PulumiVersion, k, fixtureProgram)
	d.run(nil, "stack", "init", "dev", "--secrets-provider="+kmsURL)
	d.run(nil, "up", "--yes", "--non-interactive", "--skip-preview")
	dp := settingsProvider(d.settings("dev"))
	m.add(t, &fixtureFile{
		name: "v3.274.1-deployed.json", version: harness.PulumiVersion,
		source: stacksDir + "dev.json", commands: d.cmds, data: d.object(stacksDir + "dev.json"), want: dp,
		notes: "program: outputs greeting, answer, tags and a secret token (see integration/fixtures_test.go)",
	})
	upCmds := append([]string(nil), d.cmds...)
	export := d.run(nil, "stack", "export")
	m.add(t, &fixtureFile{
		name: "v3.274.1-export.json", version: harness.PulumiVersion,
		source: "stdout", commands: append(upCmds, d.cmdline(nil, []string{"stack", "export"})),
		data: []byte(export), want: dp,
		notes: "`pulumi stack export` of the deployed stack above",
	})

	// Compressed: the same program, deployed with the compression env set.
	gz := []string{"PULUMI_DIY_BACKEND_GZIP=true"}
	g := newFixtureRunner(t, harness.PulumiVersion, k, fixtureProgram)
	g.run(gz, "stack", "init", "dev", "--secrets-provider="+kmsURL)
	g.run(gz, "up", "--yes", "--non-interactive", "--skip-preview")
	m.add(t, &fixtureFile{
		name: "v3.274.1-gzip.json.gz", version: harness.PulumiVersion,
		source: stacksDir + "dev.json.gz", commands: g.cmds, data: g.object(stacksDir + "dev.json.gz"),
		want: settingsProvider(g.settings("dev")),
	})
	zst := append([]string{"PULUMI_DIY_BACKEND_ZSTD=true"}, pass...)
	z := newFixtureRunner(t, harness.PulumiVersion, k, fixtureProgram)
	z.run(zst, "stack", "init", "dev", "--secrets-provider=passphrase")
	z.run(zst, "up", "--yes", "--non-interactive", "--skip-preview")
	m.add(t, &fixtureFile{
		name: "v3.274.1-zstd.json.zst", version: harness.PulumiVersion,
		source: stacksDir + "dev.json.zst", commands: z.cmds, data: z.object(stacksDir + "dev.json.zst"),
		want:  settingsProvider(z.settings("dev")),
		notes: "passphrase stack, passphrase `" + fixturePassphrase + "`",
	})

	// The old release: indented checkpoint, awssdk=v2 in the KMS URL.
	o := newFixtureRunner(t, harness.OldPulumiVersion, k, "")
	o.run(nil, "stack", "init", "dev", "--secrets-provider="+o.p.SecretsProviderURL(k))
	old := &fixtureFile{
		name: "v3.224.0-init-cloud.json", version: harness.OldPulumiVersion,
		source: stacksDir + "dev.json", commands: o.cmds, data: o.object(stacksDir + "dev.json"),
		want:  settingsProvider(o.settings("dev")),
		notes: "&awssdk=v2: this release reaches KMS through AWS SDK v1 otherwise, which ignores AWS_ENDPOINT_URL_KMS",
	}
	m.add(t, old)
	if old.info.Lines < 5 {
		t.Errorf("%s is not indented:\n%s", old.name, old.data)
	}
}

func (m *manifest) render() string {
	var b strings.Builder
	b.WriteString(`# Checkpoint fixtures

Written by ` + "`make fixtures`" + ` (integration/fixtures_test.go, TestGenerateFixtures); do not edit by
hand. Every file is copied byte for byte from a file:// backend that the real pulumi CLI wrote (or, for
the export, from its stdout), with KMS served by local-kms (alias ` + "`" + harness.PulumiKMSAlias + "`" + `,
region ` + harness.Region + `). Times, salts, data keys and nonces are pulumi's own, so they change on each
regeneration.

The expected provider is what pulumi wrote into the stack's settings file (` + "`Pulumi.<stack>.yaml`" + `) in
the same run; the generator checked that the checkpoint records the same values. "key id" is the awskms
URL's host and path (spec §3.3). The ` + "`encryptedkey`" + ` values are local-kms ciphertexts (base64 of
` + "`Karn:aws:kms:…`" + `), not the ` + "`AQICAH…`" + ` blobs AWS KMS returns; stacksync copies them verbatim either way.

| File | pulumi | Compression | JSON | ` + "`version`" + ` | ` + "`stack`" + ` | Provider type | URL | Key id |
|---|---|---|---|---|---|---|---|---|
`)
	for _, f := range m.files {
		layout, stack := "compact", "—"
		if f.info.Lines > 1 {
			layout = "indented"
		}
		if f.info.Escaped {
			layout += ", `&` as `\\u0026`"
		}
		if f.info.Stack != "" {
			stack = "`" + f.info.Stack + "`"
		}
		typ, url, id := "none", "—", "—"
		if f.want.Type != "" {
			typ = f.want.Type
		}
		if f.want.URL != "" {
			url = "`" + f.want.URL + "`"
		}
		if f.want.keyID() != "" {
			id = "`" + f.want.keyID() + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %d | %s | %s | %s | %s |\n", f.name, f.version, f.info.Compression, layout, f.info.Version, stack, typ, url, id)
	}
	b.WriteString("\n## How each file was made\n\nEach stack was created in a fresh project directory holding `Pulumi.yaml` (`name: demo`, `runtime: yaml`),\nwith `PULUMI_HOME` in a temp dir and `AWS_ENDPOINT_URL_KMS` pointing at local-kms. `<backend>` is the\nfile:// backend's temp directory.\n")
	for _, f := range m.files {
		fmt.Fprintf(&b, "\n### `%s`\n\n", f.name)
		fmt.Fprintf(&b, "pulumi %s; copied from `%s`.", f.version, f.source)
		if f.notes != "" {
			b.WriteString(" " + strings.ToUpper(f.notes[:1]) + f.notes[1:] + ".")
		}
		b.WriteString("\n\n```sh\n")
		for _, c := range f.commands {
			b.WriteString(c + "\n")
		}
		b.WriteString("```\n\nExpected provider:\n\n")
		switch f.want.Type {
		case "cloud":
			fmt.Fprintf(&b, "- type: `cloud`\n- url: `%s`\n- key id: `%s`\n- encryptedkey: `%s`\n", f.want.URL, f.want.keyID(), f.want.EncryptedKey)
		case "passphrase":
			fmt.Fprintf(&b, "- type: `passphrase`\n- salt: `%s`\n", f.want.Salt)
		default:
			b.WriteString("- none: the file has no `latest`, so no `secrets_providers`\n")
		}
	}
	return b.String()
}

func (ex *examples) readme() string {
	kms, ps := ex.stacks[0], ex.stacks[1]
	var b strings.Builder
	fmt.Fprintf(&b, `# Examples

Everything here is written by `+"`make fixtures`"+` (integration/fixtures_test.go, TestGenerateFixtures) with
the real pulumi %s, local-kms standing in for AWS KMS, and a file:// backend. Do not edit it by hand;
salts, data keys and times are pulumi's own and change on each regeneration.

## `+"`make demo`"+`

`+"`make demo`"+` copies `+"`project/`"+` to a temp dir, prints its settings files, runs

`+"```sh"+`
stacksync restore -C <tmp>/project --backend file://<repo>/examples/backend --all
`+"```"+`

and prints the settings files again: `+"`secretsprovider`"+` and `+"`encryptedkey`"+` are back in
`+"`Pulumi.%s.yaml`"+` and `+"`encryptionsalt`"+` in `+"`Pulumi.%s.yaml`"+`, each exactly as
recorded in the backend, with the `+"`config:`"+` block untouched. The repository copy is never modified.
It needs no KMS and no passphrase: stacksync copies the provider fields, it decrypts nothing.

## `+"`backend/`"+`

A file:// DIY backend exactly as pulumi left it, including the `+"`.attrs`"+` sidecar that gocloud's
fileblob writes next to each object, and the `+"`.json.bak`"+` that `+"`stack init`"+` leaves (empty
directories, such as the lock directories, are not kept). Project `+"`demo`"+`, two stacks:

| Stack | Secrets provider |
|---|---|
| `+"`%s`"+` | `+"`%s`"+` (local-kms) |
| `+"`%s`"+` | passphrase `+"`%s`"+` |

Made with (in a project dir holding `+"`project/Pulumi.yaml`"+`; `+"`<backend>`"+` is a temp dir):

`+"```sh"+`
%s`+"```"+`

## `+"`project/`"+`

`+"`Pulumi.yaml`"+` is the project file the commands above ran in. Each `+"`Pulumi.<stack>.yaml`"+` is
what an ephemeral CI workspace has after the loss: the settings file written above was deleted, then
pulumi was run with no `+"`PULUMI_CONFIG_PASSPHRASE`"+` in the environment:

`, harness.PulumiVersion, kms.name, ps.name, kms.name, kms.provider, ps.name, fixturePassphrase, strings.Join(ex.initCmds, "\n")+"\n")
	for _, st := range ex.stacks {
		fmt.Fprintf(&b, "### `Pulumi.%s.yaml`\n\n```sh\nrm Pulumi.%s.yaml\n%s\n```\n\n", st.name, st.name, strings.Join(st.lossCmds, "\n"))
		fmt.Fprintf(&b, "`config set` %s and left", st.lossNote)
		if st.after == nil {
			b.WriteString(" no file.\n\n")
		} else {
			fmt.Fprintf(&b, ":\n\n```yaml\n%s```\n\n", st.after)
		}
		fmt.Fprintf(&b, "Then `pulumi config set --secret x y` gives %s\n\n", "`"+st.secretCheck+"`.")
		fmt.Fprintf(&b, "Before the loss pulumi had written (the file `make demo` restores the provider fields of):\n\n```yaml\n%s```\n\n", st.before)
	}
	return b.String()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files below src to dst (empty directories
// are dropped, as git would).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	for _, rel := range listFiles(t, src) {
		b, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dst, rel), b)
	}
}

// listFiles returns the regular files below dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
