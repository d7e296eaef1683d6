//go:build unix

package integration

// The bad-input catalogue: every hostile or broken input stacksync is known
// to meet, run through the real binary, each with its exit code, a fragment
// of its message and proof that nothing on disk was lost. A full run of
// TestCatalogue writes docs/reliability.md from the table.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/stacksync/stacksync/integration/harness"
)

// catMiB is a mebibyte, for the memory bounds.
const catMiB = 1 << 20

// catBoundedRSS is the bound on one process's peak RSS for the
// bomb and big-token inputs, whatever -j is.
const catBoundedRSS = 64 * catMiB

// catBaseStack is the stack name in the real-pulumi fixture the crafted
// checkpoints start from.
const catBaseStack = "organization/demo/dev.my-service.us-west-2"

// The salt of a passphrase provider, as pulumi wrote it in examples/.
const catSalt = "v1:OrdgPgnyLI4=:v1:ZbyVyQ8r4jn1Ow1c:joNUUWtVSK2jNJehQJviFBrR0XuQMA=="

// catRow is one bad input: how to set it up, the command line, and what
// stacksync must do.
type catRow struct {
	name string
	// backend describes the backend for the table: "file://", "versitygw",
	// "versitygw, proxy answering 403", …
	backend string
	// setup prepares the row's project dir ($DIR) and file:// backend
	// ($BDIR); newCatCase has already written Pulumi.yaml (project demo),
	// Pulumi.dev.yaml (config only) and .pulumi/meta.yaml.
	setup func(t *testing.T, c *catCase)
	// env and args may hold the tokens of catCase.expand.
	env  []string
	args []string
	code int
	// want must appear in stdout or stderr.
	want string
	// within bounds the wall time of the process; 0: no bound.
	within time.Duration
	// maxRSS bounds the process's peak RSS; 0: no bound.
	maxRSS int64
	// check is a row's own assertion, after the common ones.
	check func(t *testing.T, c *catCase, r catResult)
	// stdout, when set, is the file stacksync writes its output to
	// (/dev/full: a full disk) instead of a pipe the row reads.
	stdout string
}

// catResult is what one run of the binary gave.
type catResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
	rss            int64 // peak RSS in bytes; 0 if unknown
}

// catWorld is what every row shares: the binary, one versitygw holding
// examples/backend and a bomb, proxies in front of it that answer 403,
// never answer, or inject the faults a row's setup sets, a closed port,
// and the crafted objects that are costly to make.
type catWorld struct {
	bin      string
	s3       *harness.S3
	deny     *harness.FaultProxy
	hang     *harness.FaultProxy
	fault    *harness.FaultProxy
	az       *catAzure
	closed   string // 127.0.0.1:<port> where nothing listens
	base     []byte // a real pulumi checkpoint: awskms, stack demo/dev
	zbomb    []byte // .json.zst: 1 GiB string before secrets_providers
	gbomb    []byte // .json.gz: the same
	bigToken string // path of a plain checkpoint with a 100 MB string token
	bigYAML  string // path of a 50 MB settings file
	gs       *catGS // the gs:// rows' servers
	pg       *catPostgres
}

// catCase is one row's scratch space.
type catCase struct {
	w    *catWorld
	root string // holds dir and bdir
	dir  string // the project directory: $DIR
	bdir string // the file:// backend directory: $BDIR
}

// expand replaces the tokens of env and args.
func (c *catCase) expand(s string) string {
	s = strings.NewReplacer(append(append(c.w.gs.tokens(), c.w.pg.tokens()...),
		"$DIR", c.dir,
		"$BDIR", c.bdir,
		"$ROOT", c.root,
		"$S3", c.w.s3.HostPort,
		"$DENY", c.w.deny.HostPort,
		"$HANG", c.w.hang.HostPort,
		"$FAULT", c.w.fault.HostPort,
		"$CLOSED", c.w.closed,
	)...).Replace(s)
	return c.w.az.expand(s)
}

// unexpand turns the paths and addresses of a message back into tokens, so
// that docs/reliability.md is the same from run to run.
func (c *catCase) unexpand(s string) string {
	gs := append(c.w.gs.tokens(), c.w.pg.tokens()...)
	for i := 0; i < len(gs); i += 2 {
		gs[i], gs[i+1] = gs[i+1], gs[i]
	}
	s = strings.NewReplacer(append(gs,
		c.dir, "$DIR",
		c.bdir, "$BDIR",
		c.root, "$ROOT",
		c.w.s3.HostPort, "$S3",
		c.w.deny.HostPort, "$DENY",
		c.w.hang.HostPort, "$HANG",
		c.w.fault.HostPort, "$FAULT",
		c.w.closed, "$CLOSED",
	)...).Replace(s)
	return c.w.az.unexpand(s)
}

// write writes data to rel below $BDIR (a backend object) or, with a
// "$DIR/" prefix, below the project dir.
func (c *catCase) write(t *testing.T, rel string, data []byte) {
	t.Helper()
	p := c.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A fixed time in the past: the table is the same from run to run,
	// and a rewrite with the same bytes shows.
	if err := os.Chtimes(p, catTime, catTime); err != nil {
		t.Fatal(err)
	}
}

// catTime is the modification time of every file a row writes.
var catTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// path is rel below $BDIR, or below $DIR with a "$DIR/" prefix.
func (c *catCase) path(rel string) string {
	if r, ok := strings.CutPrefix(rel, "$DIR/"); ok {
		return filepath.Join(c.dir, filepath.FromSlash(r))
	}
	return filepath.Join(c.bdir, filepath.FromSlash(rel))
}

// catKey is the key of stack's checkpoint in project demo, with ext ""
// (plain), ".gz" or ".zst".
func catKey(stack, ext string) string { return ".pulumi/stacks/demo/" + stack + ".json" + ext }

// link hard-links (or, across file systems, copies) src to rel below
// $BDIR, so that large crafted objects are written once.
func (c *catCase) link(t *testing.T, src, rel string) {
	t.Helper()
	p := c.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(src, p); err == nil {
		return
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	c.write(t, rel, data)
}

// checkpoint is the base checkpoint renamed to stack, with edits (old,
// new, old, new, …) applied to its text, each once.
func (w *catWorld) checkpoint(stack string, edits ...string) []byte {
	s := strings.Replace(string(w.base), `"stack":"`+catBaseStack+`"`, `"stack":"organization/demo/`+stack+`"`, 1)
	for i := 0; i+1 < len(edits); i += 2 {
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return []byte(s)
}

// catProvider is the secrets_providers member of a checkpoint.
func catProvider(typ, state string) string {
	return `"secrets_providers":{"type":"` + typ + `","state":` + state + `}`
}

// writeHuge writes the base checkpoint of stack to w with a string token
// of n bytes ('a') inserted before secrets_providers, streaming the
// token, so that nothing holds it whole.
func (w *catWorld) writeHuge(dst io.Writer, stack string, n int64) error {
	cp := string(w.checkpoint(stack))
	i := strings.Index(cp, `"secrets_providers":`)
	if i < 0 {
		return fmt.Errorf("the base checkpoint has no secrets_providers")
	}
	if _, err := io.WriteString(dst, cp[:i]+`"x-padding":"`); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte("a"), catMiB)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := dst.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	_, err := io.WriteString(dst, `",`+cp[i:])
	return err
}

// compressedHuge is writeHuge through a compressor, into memory: only
// the compressed bytes are kept.
func (w *catWorld) compressedHuge(stack string, n int64, wrap func(io.Writer) (io.WriteCloser, error)) ([]byte, error) {
	var b bytes.Buffer
	zw, err := wrap(&b)
	if err != nil {
		return nil, err
	}
	if err := w.writeHuge(zw, stack, n); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// newCatWorld builds stacksync, makes the bombs, the big token and the
// big settings file, and starts versitygw, the proxies and the closed port.
func newCatWorld(t *testing.T) *catWorld {
	t.Helper()
	w := &catWorld{bin: harness.BuildStacksync(t), base: auditFixture(t, "v3.274.1-init-cloud.json")}
	if !bytes.Contains(w.base, []byte(`"stack":"`+catBaseStack+`"`)) {
		t.Fatalf("fixture is not stack %s", catBaseStack)
	}
	// The bombs: 1 GiB of one string, streamed into the compressor.
	var wg sync.WaitGroup
	var zerr, gerr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		w.zbomb, zerr = w.compressedHuge("bomb", 1<<30, func(dst io.Writer) (io.WriteCloser, error) {
			return zstd.NewWriter(dst, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
		})
	}()
	go func() {
		defer wg.Done()
		w.gbomb, gerr = w.compressedHuge("bomb", 1<<30, func(dst io.Writer) (io.WriteCloser, error) {
			return gzip.NewWriterLevel(dst, gzip.BestSpeed)
		})
	}()
	wg.Wait()
	if zerr != nil || gerr != nil {
		t.Fatalf("making the bombs: zstd %v, gzip %v", zerr, gerr)
	}
	t.Logf("bombs: zstd %d bytes, gzip %d bytes, each 1 GiB decoded", len(w.zbomb), len(w.gbomb))

	shared := t.TempDir()
	w.bigToken = filepath.Join(shared, "big.json")
	f, err := os.Create(w.bigToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.writeHuge(f, "big", 100_000_000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w.bigYAML = filepath.Join(shared, "big.yaml")
	var y bytes.Buffer
	y.WriteString("# a large settings file\nconfig:\n")
	for i := 0; y.Len() < 50_000_000; i++ {
		fmt.Fprintf(&y, "  demo:key%07d: %q\n", i, strings.Repeat("v", 80))
	}
	if err := os.WriteFile(w.bigYAML, y.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// versitygw with examples/backend and the zstd bomb.
	w.s3 = harness.StartS3(t)
	w.s3.CreateBucket(t, "state")
	main, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	w.s3.UploadDir(t, "state", "", filepath.Join(main, "examples", "backend"))
	w.s3.PutObject(t, "state", catKey("bomb", ".zst"), w.zbomb)
	w.deny = harness.StartFaultProxy(t, w.s3.Endpoint, harness.FaultRule{Fault: harness.FaultForbidden})
	w.hang = harness.StartFaultProxy(t, w.s3.Endpoint, harness.FaultRule{Fault: harness.FaultHang})
	w.fault = harness.StartFaultProxy(t, w.s3.Endpoint)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.closed = ln.Addr().String()
	ln.Close()
	w.gs = startCatGS(t)
	w.az = startCatAzure(t, main)
	w.pg = startCatPostgres(t)
	return w
}

// newCatCase makes a row's project dir (project demo, a config-only
// Pulumi.dev.yaml) and file:// backend (meta.yaml only).
func (w *catWorld) newCatCase(t *testing.T) *catCase {
	t.Helper()
	root := t.TempDir()
	c := &catCase{w: w, root: root, dir: filepath.Join(root, "proj"), bdir: filepath.Join(root, "backend")}
	c.write(t, "$DIR/Pulumi.yaml", []byte("name: demo\nruntime: yaml\n"))
	c.write(t, "$DIR/Pulumi.dev.yaml", []byte("# kept\nconfig:\n  demo:greeting: hello # inline\n  demo:count: \"3\"\n"))
	c.write(t, ".pulumi/meta.yaml", []byte("version: 1\n"))
	return c
}

// catRestore is restore of stack from the row's file:// backend.
func catRestore(stack string, flags ...string) []string {
	return append([]string{"restore", "-C", "$DIR", "--backend", "file://$BDIR", stack}, flags...)
}

// catS3URL is the backend URL of bucket at host (a token) in region.
func catS3URL(host, region, bucket string) string {
	return harness.S3BackendURL(host, region, bucket, "")
}

// catRestoreS3 is restore of stack from an S3 backend URL.
func catRestoreS3(backend, stack string, flags ...string) []string {
	return append([]string{"restore", "-C", "$DIR", "--backend", backend, stack}, flags...)
}

// catSettings replaces Pulumi.<stack>.yaml in the project dir.
func catSettings(stack, body string) func(*testing.T, *catCase) {
	return func(t *testing.T, c *catCase) { c.write(t, "$DIR/Pulumi."+stack+".yaml", []byte(body)) }
}

// catObjects writes backend objects: key, data, key, data, …
func catObjects(kv ...any) func(*testing.T, *catCase) {
	return func(t *testing.T, c *catCase) {
		for i := 0; i+1 < len(kv); i += 2 {
			c.write(t, kv[i].(string), kv[i+1].([]byte))
		}
	}
}

// catFileHas checks that a project file holds (or, with not, lacks) sub.
func catFileHas(rel, sub string) func(*testing.T, *catCase, catResult) {
	return func(t *testing.T, c *catCase, _ catResult) {
		t.Helper()
		if b := readFile(t, c.path("$DIR/"+rel)); !strings.Contains(string(b), sub) {
			t.Errorf("%s lacks %q:\n%s", rel, sub, b)
		}
	}
}

// catOutLacks checks that stdout and stderr lack sub.
func catOutLacks(sub string) func(*testing.T, *catCase, catResult) {
	return func(t *testing.T, c *catCase, r catResult) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, sub) {
			t.Errorf("output holds %q:\nstdout:\n%s\nstderr:\n%s", sub, r.stdout, r.stderr)
		}
	}
}

// catChecks runs several checks.
func catChecks(fs ...func(*testing.T, *catCase, catResult)) func(*testing.T, *catCase, catResult) {
	return func(t *testing.T, c *catCase, r catResult) {
		t.Helper()
		for _, f := range fs {
			f(t, c, r)
		}
	}
}

// catRows is the catalogue. w provides the crafted objects.
func catRows(w *catWorld) []catRow {
	const (
		// escShown is the URL of escCP as stacksync must print it.
		escShown = `awskms://alias/x\x1b[31mRED\x07?region=us-east-1`
		bomb     = "this looks like a decompression bomb or a hand-edited checkpoint"
		symlink  = "is a symbolic link, which stacksync does not follow inside a backend directory"
	)
	s3 := catS3URL("$S3", harness.Region, "state")
	escCP := w.checkpoint("esc", `"url":"awskms://alias/pulumi_backend_software?region=us-east-1"`,
		`"url":"awskms://alias/x\u001b[31mRED\u0007?region=us-east-1"`)
	zbombs := func(n int) func(*testing.T, *catCase) {
		return func(t *testing.T, c *catCase) {
			for i := range n {
				c.write(t, catKey(fmt.Sprintf("bomb%02d", i), ".zst"), w.zbomb)
			}
		}
	}
	gbombs := func(n int) func(*testing.T, *catCase) {
		return func(t *testing.T, c *catCase) {
			for i := range n {
				c.write(t, catKey(fmt.Sprintf("bomb%02d", i), ".gz"), w.gbomb)
			}
		}
	}
	bigTokens := func(n int) func(*testing.T, *catCase) {
		return func(t *testing.T, c *catCase) {
			for i := range n {
				c.link(t, w.bigToken, catKey(fmt.Sprintf("big%02d", i), ""))
			}
		}
	}
	symlinkedProject := func(t *testing.T, c *catCase) {
		c.write(t, catKey("dev", ""), w.checkpoint("dev"))
		outside := filepath.Join(c.root, "outside")
		c.write(t, "../outside/prod.json", w.checkpoint("prod"))
		if err := os.Symlink(outside, c.path(".pulumi/stacks/linked")); err != nil {
			t.Fatal(err)
		}
		c.write(t, "$DIR/Pulumi.yaml", []byte("name: linked\nruntime: yaml\n"))
		c.write(t, "$DIR/Pulumi.prod.yaml", []byte("config:\n  linked:x: \"1\"\n"))
	}
	symlinkedCheckpoint := func(t *testing.T, c *catCase) {
		c.write(t, catKey("prod", ""), w.checkpoint("prod"))
		c.write(t, "../outside/dev.json", w.checkpoint("dev"))
		if err := os.Symlink(filepath.Join(c.root, "outside", "dev.json"), c.path(catKey("dev", ""))); err != nil {
			t.Fatal(err)
		}
	}
	longMeta := func(t *testing.T, c *catCase) {
		var b bytes.Buffer
		for i := 0; b.Len() <= 64<<10; i++ {
			fmt.Fprintf(&b, "# padding line %05d, the kind a hand edit or a tool could leave\n", i)
		}
		b.WriteString("version: 1\n")
		c.write(t, ".pulumi/meta.yaml", b.Bytes())
		c.write(t, catKey("dev", ""), w.checkpoint("dev"))
	}
	// Local inputs: a file stacksync reads besides the checkpoint, made
	// hostile at path (in $ROOT, which no snapshot hashes, or $DIR).
	fifo := func(t *testing.T, path string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	devZero := func(t *testing.T, path string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	}
	sparseGiB := func(t *testing.T, path string) {
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 1<<30); err != nil {
			t.Fatal(err)
		}
	}
	// passphraseStack is examples/'s passphrase stack staging, as the real
	// pulumi wrote it, with its settings file, and the passphrase file
	// $ROOT/passphrase made by hostile (none when nil).
	passphraseStack := func(hostile func(*testing.T, string)) func(*testing.T, *catCase) {
		return func(t *testing.T, c *catCase) {
			main, err := harness.MainModuleDir()
			if err != nil {
				t.Fatal(err)
			}
			c.write(t, catKey("staging", ""), readFile(t, filepath.Join(main, "examples", "backend", filepath.FromSlash(catKey("staging", "")))))
			c.write(t, "$DIR/Pulumi.staging.yaml", []byte("encryptionsalt: "+catSalt+"\nconfig:\n  demo:x: \"1\"\n"))
			if hostile != nil {
				hostile(t, filepath.Join(c.root, "passphrase"))
			}
		}
	}
	// credentials is the stack dev and a hostile credentials.json in
	// $ROOT/pulumi-home, the PULUMI_HOME of the credentials rows.
	credentials := func(hostile func(*testing.T, string)) func(*testing.T, *catCase) {
		return func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			hostile(t, filepath.Join(c.root, "pulumi-home", "credentials.json"))
		}
	}
	verifyStaging := []string{"verify", "-C", "$DIR", "--backend", "file://$BDIR", "staging"}
	noProvider := w.checkpoint("dev", `"secrets_providers":{"type":"cloud","state":{"url":"awskms://alias/pulumi_backend_software?region=us-east-1","encryptedkey":`, `"x":{"y":{"z":"","w":`)
	return []catRow{{
		// Issue row 1: decompression bombs.
		name: "zstd-bomb-restore", backend: "file://",
		setup: catObjects(catKey("dev", ".zst"), w.zbomb),
		args:  catRestore("dev"), code: 1, want: bomb, maxRSS: catBoundedRSS,
	}, {
		name: "zstd-bomb-audit-j16", backend: "file://",
		setup: zbombs(16),
		args:  []string{"audit", "-j", "16", "--backend", "file://$BDIR"}, code: 1, want: bomb, maxRSS: catBoundedRSS,
	}, {
		name: "gzip-bomb-restore", backend: "file://",
		setup: catObjects(catKey("dev", ".gz"), w.gbomb),
		args:  catRestore("dev"), code: 1, want: bomb, maxRSS: catBoundedRSS,
	}, {
		name: "gzip-bomb-audit-j16", backend: "file://",
		setup: gbombs(4),
		args:  []string{"audit", "-j", "16", "--backend", "file://$BDIR"}, code: 1, want: bomb, maxRSS: catBoundedRSS,
	}, {
		name: "zstd-bomb-restore-s3", backend: "versitygw",
		setup: catSettings("bomb", "config:\n  demo:x: \"1\"\n"),
		env:   []string{"AWS_REGION=" + harness.Region},
		args:  catRestoreS3(s3, "bomb"), code: 1, want: "s3://state/" + catKey("bomb", ".zst") + ": checkpoint too large", maxRSS: catBoundedRSS,
	}, {
		name: "zstd-bomb-in-history-audit", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev"),
			".pulumi/history/demo/dev/dev-1700000000000000000.checkpoint.json.zst", w.zbomb),
		// An unreadable history checkpoint is passed over, as any
		// damaged one is, in bounded memory.
		args: []string{"audit", "--history", "--backend", "file://$BDIR"}, code: 0, want: "1 stack: awskms 1; 0 flipped", maxRSS: catBoundedRSS,
	}, {
		name: "zstd-bomb-in-backups-fallback", backend: "file://",
		setup: catObjects(catKey("dev", ""), noProvider,
			".pulumi/backups/demo/dev/dev.1700000000000000000.json.zst", w.zbomb),
		args: catRestore("dev"), code: 1, want: "nor in any backup or history checkpoint", maxRSS: catBoundedRSS,
	}, {
		// Issue row 2: a large plain token is skipped, not buffered.
		name: "100MB-token-restore", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.link(t, w.bigToken, catKey("big", ""))
			catSettings("big", "config:\n  demo:x: \"1\"\n")(t, c)
		},
		args: catRestore("big"), code: 0, want: "big: updated Pulumi.big.yaml (awskms alias/pulumi_backend_software)", maxRSS: catBoundedRSS,
		check: catFileHas("Pulumi.big.yaml", "secretsprovider: awskms://alias/pulumi_backend_software?region=us-east-1\nencryptedkey: "),
	}, {
		name: "100MB-token-audit-j16", backend: "file://",
		setup: bigTokens(16),
		args:  []string{"audit", "-j", "16", "--backend", "file://$BDIR"}, code: 0, want: "16 stacks: awskms 16", maxRSS: catBoundedRSS,
	}, {
		// Issue row 8: read as pulumi's encoding/json does.
		name: "duplicate-secrets_providers", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev", `"secrets_providers":`,
			catProvider("passphrase", `{"salt":"`+catSalt+`"}`)+`,"secrets_providers":`)),
		args: catRestore("dev"), code: 0, want: "dev: updated Pulumi.dev.yaml (awskms alias/pulumi_backend_software)",
		check: catChecks(catFileHas("Pulumi.dev.yaml", "secretsprovider: awskms://alias/pulumi_backend_software?region=us-east-1\n"),
			func(t *testing.T, c *catCase, _ catResult) {
				if b := readFile(t, c.path("$DIR/Pulumi.dev.yaml")); strings.Contains(string(b), "encryptionsalt") {
					t.Errorf("restored the first (passphrase) provider:\n%s", b)
				}
			}),
	}, {
		name: "trailing-bytes", backend: "file://",
		setup: catObjects(catKey("dev", ""), append(w.checkpoint("dev"), " {}"...)),
		args:  catRestore("dev"), code: 1, want: "after top-level value",
	}, {
		// Bad state that already failed cleanly.
		name: "truncated-json", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev")[:200]),
		args:  catRestore("dev"), code: 1, want: "unexpected end of JSON input",
	}, {
		name: "invalid-json", backend: "file://",
		setup: catObjects(catKey("dev", ""), []byte("version: 3\ncheckpoint: {}\n")),
		args:  catRestore("dev"), code: 1, want: "invalid character",
	}, {
		name: "checkpoint-version-5", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev", `{"version":3,`, `{"version":5,`)),
		args:  catRestore("dev"), code: 1, want: "checkpoint version 5 (stacksync reads 0 to 4)",
	}, {
		name: "unknown-provider-type", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev", `"type":"cloud"`, `"type":"vault9"`)),
		args:  catRestore("dev"), code: 1, want: `records secrets provider type "vault9", which pulumi does not know`,
	}, {
		name: "stack-dotdot", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev")),
		args:  catRestore(".."), code: 2, want: `".." is not a project or stack name`,
	}, {
		name: "stack-dot", backend: "file://",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev")),
		args:  catRestore("."), code: 2, want: `"." is not a project or stack name`,
	}, {
		name: "project-dotdot", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, "$DIR/Pulumi.yaml", []byte("name: ..\nruntime: yaml\n"))
		},
		args: catRestore("dev"), code: 2, want: `project name "..": use only letters, digits`,
	}, {
		name: "show-project-dotdot", backend: "file://",
		args: []string{"show", "../dev", "--backend", "file://$BDIR"}, code: 2, want: `".." is not a project or stack name`,
	}, {
		name: "audit-project-dot", backend: "file://",
		args: []string{"audit", "--project", ".", "--backend", "file://$BDIR"}, code: 1, want: `project name ".": use only letters, digits`,
	}, {
		// Issue row 9: terminal escapes from state are escaped.
		name: "esc-bel-url-restore", backend: "file://",
		setup: catObjects(catKey("esc", ""), escCP),
		args:  catRestore("esc"), code: 0, want: `esc: created Pulumi.esc.yaml (awskms alias/x\x1b[31mRED\x07)`,
		check: func(t *testing.T, c *catCase, _ catResult) {
			b := readFile(t, c.path("$DIR/Pulumi.esc.yaml"))
			// YAML escapes: the file holds the URL pulumi recorded, and no
			// raw control byte.
			if !strings.Contains(string(b), `secretsprovider: "awskms://alias/x\e[31mRED\a?region=us-east-1"`) || bytes.ContainsAny(b, "\x1b\x07") {
				t.Errorf("Pulumi.esc.yaml:\n%q", b)
			}
		},
	}, {
		name: "esc-bel-url-show", backend: "file://",
		setup: catObjects(catKey("esc", ""), escCP),
		args:  []string{"show", "esc", "-C", "$DIR", "--backend", "file://$BDIR"}, code: 0, want: "url:          " + escShown,
	}, {
		name: "esc-bel-url-audit", backend: "file://",
		setup: catObjects(catKey("esc", ""), escCP),
		args:  []string{"audit", "--backend", "file://$BDIR"}, code: 0, want: `alias/x\x1b[31mRED\x07`,
	}, {
		name: "esc-bel-url-audit-csv", backend: "file://",
		setup: catObjects(catKey("esc", ""), escCP),
		args:  []string{"audit", "-o", "csv", "--backend", "file://$BDIR"}, code: 0, want: "," + escShown + ",",
	}, {
		// Issue row 10: one symlink policy for every command.
		name: "symlinked-project-restore", backend: "file://",
		setup: symlinkedProject,
		args:  catRestore("prod"), code: 1, want: "$BDIR/.pulumi/stacks/linked: " + symlink,
	}, {
		name: "symlinked-project-show", backend: "file://",
		setup: symlinkedProject,
		args:  []string{"show", "linked/prod", "--backend", "file://$BDIR"}, code: 1, want: "$BDIR/.pulumi/stacks/linked: " + symlink,
	}, {
		name: "symlinked-project-audit-project", backend: "file://",
		setup: symlinkedProject,
		args:  []string{"audit", "--project", "linked", "--backend", "file://$BDIR"}, code: 1, want: "$BDIR/.pulumi/stacks/linked: " + symlink,
	}, {
		name: "symlinked-project-audit", backend: "file://",
		setup: symlinkedProject,
		args:  []string{"audit", "--backend", "file://$BDIR"}, code: 0, want: "1 stack: awskms 1",
		check: catOutLacks("linked"),
	}, {
		name: "symlinked-project-ls", backend: "file://",
		setup: symlinkedProject,
		args:  []string{"ls", "--backend", "file://$BDIR"}, code: 0, want: "demo/dev",
		check: catOutLacks("linked"),
	}, {
		name: "symlinked-checkpoint-restore", backend: "file://",
		setup: symlinkedCheckpoint,
		args:  catRestore("dev"), code: 1, want: "$BDIR/" + catKey("dev", "") + ": " + symlink,
	}, {
		name: "symlinked-checkpoint-show", backend: "file://",
		setup: symlinkedCheckpoint,
		args:  []string{"show", "dev", "-C", "$DIR", "--backend", "file://$BDIR"}, code: 1, want: "$BDIR/" + catKey("dev", "") + ": " + symlink,
	}, {
		name: "symlinked-checkpoint-audit", backend: "file://",
		setup: symlinkedCheckpoint,
		args:  []string{"audit", "--backend", "file://$BDIR"}, code: 0, want: "1 stack: awskms 1",
		check: catOutLacks(" dev "),
	}, {
		name: "symlinked-checkpoint-ls", backend: "file://",
		setup: symlinkedCheckpoint,
		args:  []string{"ls", "--backend", "file://$BDIR"}, code: 0, want: "demo/prod",
		check: catOutLacks("demo/dev"),
	}, {
		// Issue row 12: the smaller ones.
		name: "meta.yaml-64KiB-before-version-restore", backend: "file://",
		setup: longMeta,
		args:  catRestore("dev"), code: 1, want: "meta.yaml is larger than 65536 bytes, where pulumi writes one line (version: 1)",
		check: catOutLacks("checkpoint is damaged"),
	}, {
		name: "meta.yaml-64KiB-before-version-ls", backend: "file://",
		setup: longMeta,
		args:  []string{"ls", "--backend", "file://$BDIR"}, code: 1, want: "meta.yaml is larger than 65536 bytes",
	}, {
		name: "version-bogus", backend: "-",
		args: []string{"version", "--bogus"}, code: 2, want: `version takes no arguments, got "--bogus"`,
	}, {
		name: "cwd-empty", backend: "file://",
		args: []string{"restore", "-C", "", "--backend", "file://$BDIR", "dev"}, code: 2, want: `invalid value "" for flag -C: empty directory`,
	}, {
		name: "5000-character-stack-name", backend: "file://",
		args: catRestore(strings.Repeat("a", 5000)), code: 2, want: `"` + strings.Repeat("a", 64) + `"…(5000 bytes) is longer than 100 bytes`,
		check: func(t *testing.T, c *catCase, r catResult) {
			if len(r.stderr) > 300 {
				t.Errorf("stderr is %d bytes long; the name must be cut", len(r.stderr))
			}
		},
	}, {
		// Issue rows 3 and 12: S3 that hangs, refuses or is misaddressed.
		name: "s3-hang-timeout-2s", backend: "versitygw behind a proxy that never answers",
		setup: catStaging,
		args:  catRestoreS3(catS3URL("$HANG", harness.Region, "state"), "staging", "--timeout", "2s"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "timed out", within: 5 * time.Second,
	}, {
		name: "s3-missing-bucket", backend: "versitygw",
		setup: catStaging,
		args:  catRestoreS3(catS3URL("$S3", harness.Region, "no-such-bucket"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "no-such-bucket",
	}, {
		name: "s3-access-denied-403", backend: "versitygw behind a proxy answering 403",
		setup: catStaging,
		args:  catRestoreS3(catS3URL("$DENY", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "access denied",
	}, {
		name: "s3-wrong-access-key-id", backend: "versitygw",
		setup: catStaging,
		args:  catRestoreS3(s3, "staging"),
		env:   []string{"AWS_REGION=" + harness.Region, "AWS_ACCESS_KEY_ID=NOSUCHKEYID"}, code: 1, want: "no such access key id",
	}, {
		name: "s3-wrong-region", backend: "versitygw",
		setup: catStaging,
		args:  catRestoreS3(catS3URL("$S3", "eu-west-1", "state"), "staging"),
		env:   []string{"AWS_REGION=eu-west-1"}, code: 1, want: "bucket s3://state is in region " + harness.Region + ", not eu-west-1",
	}, {
		name: "s3-connection-refused", backend: "closed port",
		setup: catStaging,
		args:  catRestoreS3(catS3URL("$CLOSED", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "$CLOSED", within: 30 * time.Second,
	}, {
		// S3 servers that break the protocol, and credentials that hang:
		// each ends well before --timeout, naming the cause.
		name: "s3-redirect-loop", backend: "versitygw behind a proxy answering 307 to the request's own URL",
		setup: catFault(harness.FaultRule{Fault: harness.FaultRedirectLoop}),
		args:  catRestoreS3(catS3URL("$FAULT", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "redirected too often: GET http://$FAULT/state/.pulumi/meta.yaml was redirected more than 10 times", within: 10 * time.Second,
	}, {
		name: "s3-list-repeated-token-ls", backend: "versitygw behind a proxy answering every listing page with the same continuation token",
		setup: catFault(harness.FaultRule{Fault: harness.FaultRepeatToken}),
		args:  []string{"ls", "--backend", catS3URL("$FAULT", harness.Region, "state")},
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "repeats the continuation token of an earlier page, so the listing would never end", within: 10 * time.Second,
	}, {
		name: "s3-list-truncated-without-token-missing-ok", backend: "versitygw behind a proxy answering listings IsTruncated with no continuation token",
		setup: catFault(harness.FaultRule{Fault: harness.FaultNoToken}),
		args:  catRestoreS3(catS3URL("$FAULT", harness.Region, "state"), "staging", "--missing-ok"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "says more keys follow (IsTruncated) but gives no continuation token", within: 10 * time.Second,
		check: catOutLacks("not in the backend"),
	}, {
		name: "s3-body-trickle", backend: "versitygw behind a proxy sending the checkpoint a byte a second",
		setup: catFault(harness.FaultRule{Method: "GET", Path: ".json", Fault: harness.FaultTrickle}),
		args:  catRestoreS3(catS3URL("$FAULT", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "the server sent the body too slowly", within: 75 * time.Second,
	}, {
		name: "s3-resume-etag-changed", backend: "versitygw behind a proxy cutting the checkpoint, then answering its resume with another ETag",
		setup: catFault(harness.FaultRule{Method: "GET", Path: ".json", Fault: harness.FaultETagChange}),
		args:  catRestoreS3(catS3URL("$FAULT", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "the object changed while it was being read", within: 10 * time.Second,
	}, {
		name: "s3-429", backend: "versitygw behind a proxy answering 429",
		setup: catFault(harness.FaultRule{Fault: harness.FaultTooManyRequests}),
		args:  catRestoreS3(catS3URL("$FAULT", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "the server limits the rate of requests: make fewer at once, or try again later", within: 20 * time.Second,
	}, {
		name: "s3-expired-token", backend: "versitygw behind a proxy answering 400 ExpiredToken",
		setup: catFault(harness.FaultRule{Fault: harness.FaultExpiredToken}),
		args:  catRestoreS3(catS3URL("$FAULT", harness.Region, "state"), "staging"),
		env:   []string{"AWS_REGION=" + harness.Region}, code: 1, want: "the session token of the AWS credentials has expired", within: 10 * time.Second,
	}, {
		name: "s3-credential-process-hung", backend: "versitygw, with a profile whose credential_process never prints",
		setup: catHungCredentialProcess,
		args:  catRestoreS3(s3, "staging"),
		env: []string{"AWS_REGION=" + harness.Region, "AWS_PROFILE=hung", "AWS_CONFIG_FILE=$ROOT/aws-config",
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="},
		code: 1, want: "the credential_process of AWS profile hung ($ROOT/hung.sh) printed none within 1m0s and was stopped", within: 75 * time.Second,
		check: catProcessGone("$ROOT/hung.pid"),
	}, {
		// Settings files: issue rows 4, 5 and 11, and those that passed.
		name: "settings-read-only-file", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			catReadOnly(t, c.path("$DIR/Pulumi.dev.yaml"))
		},
		args: catRestore("dev"), code: 1, want: "$DIR/Pulumi.dev.yaml: the file is not writable",
	}, {
		name: "settings-read-only-dir", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			catReadOnly(t, c.dir)
		},
		args: catRestore("dev"), code: 1, want: "directory $DIR is not writable",
	}, {
		name: "settings-anchors-aliases", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			catSettings("dev", "x-common: &common\n  demo:region: us-east-1\nconfig:\n  <<: *common\n  demo:greeting: hello # inline\n")(t, c)
		},
		args: catRestore("dev"), code: 0, want: "dev: updated Pulumi.dev.yaml",
	}, {
		name: "settings-crlf", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			catSettings("dev", "# kept\r\nconfig:\r\n  demo:greeting: hello # inline\r\n")(t, c)
		},
		args: catRestore("dev"), code: 0, want: "dev: updated Pulumi.dev.yaml",
		check: func(t *testing.T, c *catCase, _ catResult) {
			b := string(readFile(t, c.path("$DIR/Pulumi.dev.yaml")))
			if strings.Count(b, "\n") != strings.Count(b, "\r\n") {
				t.Errorf("line endings mixed:\n%q", b)
			}
		},
	}, {
		name: "settings-bom", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			catSettings("dev", "\ufeff# kept\nconfig:\n  demo:greeting: hello # inline\n")(t, c)
		},
		args: catRestore("dev"), code: 0, want: "dev: updated Pulumi.dev.yaml",
		check: func(t *testing.T, c *catCase, _ catResult) {
			b := string(readFile(t, c.path("$DIR/Pulumi.dev.yaml")))
			if !strings.HasPrefix(b, "\ufeffsecretsprovider: ") || strings.Count(b, "\ufeff") != 1 {
				t.Errorf("the BOM did not stay first, once:\n%q", b)
			}
		},
	}, {
		name: "settings-50MB", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			if err := os.Remove(c.path("$DIR/Pulumi.dev.yaml")); err != nil {
				t.Fatal(err)
			}
			c.link(t, w.bigYAML, "$DIR/Pulumi.dev.yaml")
		},
		args: catRestore("dev"), code: 0, want: "dev: updated Pulumi.dev.yaml", maxRSS: 200 * catMiB,
	}, {
		name: "settings-dangling-symlink", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			p := c.path("$DIR/Pulumi.dev.yaml")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(c.root, "nonexistent", "dir", "x.yaml"), p); err != nil {
				t.Fatal(err)
			}
		},
		args: catRestore("dev"), code: 1, want: "it is a symlink to $ROOT/nonexistent/dir/x.yaml, whose directory does not exist",
		check: func(t *testing.T, c *catCase, _ catResult) {
			if _, err := os.Lstat(filepath.Join(c.root, "nonexistent")); err == nil {
				t.Errorf("%s was created", filepath.Join(c.root, "nonexistent"))
			}
		},
	}, {
		name: "settings-fifo", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			p := c.path("$DIR/Pulumi.dev.yaml")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		},
		args: catRestore("dev"), code: 1, want: "it is a named pipe (FIFO), not a regular file", within: 5 * time.Second,
	}, {
		// Local inputs besides the checkpoint: each is capped, none blocks
		// (nor holds a SIGTERM with it), and each refusal names the file.
		// An unreadable passphrase file is a finding of verify (exit 3),
		// as a missing one is: pulumi would not decrypt either.
		name: "passphrase-file-dev-zero-verify", backend: "file://",
		setup: passphraseStack(nil),
		env:   []string{"PULUMI_CONFIG_PASSPHRASE_FILE=/dev/zero"},
		args:  verifyStaging, code: 3, want: "unable to read PULUMI_CONFIG_PASSPHRASE_FILE: /dev/zero is a device, not a regular file",
		within: 5 * time.Second, maxRSS: catBoundedRSS,
	}, {
		name: "passphrase-file-fifo-verify", backend: "file://",
		setup: passphraseStack(fifo),
		env:   []string{"PULUMI_CONFIG_PASSPHRASE_FILE=$ROOT/passphrase"},
		args:  verifyStaging, code: 3, want: "unable to read PULUMI_CONFIG_PASSPHRASE_FILE: $ROOT/passphrase is a named pipe (FIFO), not a regular file",
		within: 5 * time.Second, maxRSS: catBoundedRSS,
	}, {
		name: "passphrase-file-1GiB-verify", backend: "file://",
		setup: passphraseStack(sparseGiB),
		env:   []string{"PULUMI_CONFIG_PASSPHRASE_FILE=$ROOT/passphrase"},
		args:  verifyStaging, code: 3, want: "$ROOT/passphrase is larger than 1 MiB, the most stacksync reads of a passphrase file",
		within: 5 * time.Second, maxRSS: catBoundedRSS,
	}, {
		name: "credentials.json-fifo-restore", backend: "-",
		setup: credentials(fifo),
		env:   []string{"PULUMI_HOME=$ROOT/pulumi-home"},
		args:  []string{"restore", "-C", "$DIR", "dev"}, code: 1, want: "$ROOT/pulumi-home/credentials.json is a named pipe (FIFO), not a regular file",
		within: 5 * time.Second, maxRSS: catBoundedRSS,
	}, {
		name: "credentials.json-dev-zero-restore", backend: "-",
		setup: credentials(devZero),
		env:   []string{"PULUMI_HOME=$ROOT/pulumi-home"},
		args:  []string{"restore", "-C", "$DIR", "dev"}, code: 1, want: "$ROOT/pulumi-home/credentials.json is a device, not a regular file",
		within: 5 * time.Second, maxRSS: catBoundedRSS,
	}, {
		name: "project-file-fifo-restore", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			p := c.path("$DIR/Pulumi.yaml")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			fifo(t, p)
		},
		args: catRestore("dev"), code: 1, want: "load Pulumi project: $DIR/Pulumi.yaml is a named pipe (FIFO), not a regular file",
		within: 5 * time.Second, maxRSS: catBoundedRSS,
	}, {
		// Secrets in a backend URL never reach output: each message
		// shows the URL masked.
		name: "url-credentials-bad-parameter-ls", backend: "-",
		args: []string{"ls", "--backend", "s3://AKID:SECRETKEY@state?password=hunter2&region=us-east-1"}, code: 1,
		want: `invalid backend URL "s3://AKID:xxxxx@state?password=xxxxx&region=us-east-1"`, check: catNoSecret("SECRETKEY", "hunter2"),
	}, {
		name: "url-credentials-endpoint-ls", backend: "closed port",
		args: []string{"ls", "--backend", "s3://AKID:SECRETKEY@state?endpoint=http://u:hunter2@$CLOSED&region=us-east-1&s3ForcePathStyle=true"}, code: 1,
		want: "s3://AKID:xxxxx@state?endpoint=http://u:xxxxx@$CLOSED", check: catNoSecret("SECRETKEY", "hunter2"),
		within: time.Minute,
	}, {
		// --dry-run never shows a config value, whatever the format: a
		// JSON line that holds the salt and config is a placeholder.
		name: "settings-json-salt-beside-config-dry-run", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			passphraseStack(nil)(t, c)
			if err := os.Remove(c.path("$DIR/Pulumi.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(c.path("$DIR/Pulumi.staging.yaml")); err != nil {
				t.Fatal(err)
			}
			c.write(t, "$DIR/Pulumi.json", []byte(`{"name": "demo", "runtime": "yaml"}`))
			c.write(t, "$DIR/Pulumi.staging.json", []byte("{\n  \"encryptionsalt\": \"v1:old=\", \"config\": {\"demo:dbhost\": \"db.internal.example\"}\n}\n"))
		},
		args: catRestore("staging", "--dry-run", "--force"), code: 0, want: "-(a line holding other settings, not shown)",
		check: catNoSecret("db.internal.example"),
	}, {
		// A settings file that is a FIFO is a finding with its reason.
		name: "settings-file-fifo-check", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			p := c.path("$DIR/Pulumi.dev.yaml")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			fifo(t, p)
		},
		args: []string{"check", "$DIR", "--backend", "file://$BDIR"}, code: 1, want: "Pulumi.dev.yaml: it is a named pipe (FIFO), not a regular file",
		within: 5 * time.Second,
	}, {
		// A .yaml settings file holding a JSON object, which pulumi
		// reads, is restored and stays JSON.
		name: "settings-yaml-holding-json-restore", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			c.write(t, catKey("dev", ""), w.checkpoint("dev"))
			c.write(t, "$DIR/Pulumi.dev.yaml", []byte("{\n  \"config\": {\"demo:greeting\": \"hello\"}\n}\n"))
		},
		args: catRestore("dev"), code: 0, want: "dev: updated Pulumi.dev.yaml",
	}, {
		// A stack missing from a large project: one short listing, and
		// a message that names a handful of stacks, not all of them.
		name: "missing-stack-of-3000-restore", backend: "file://",
		setup: func(t *testing.T, c *catCase) {
			cp := w.checkpoint("dev")
			for i := range 3000 {
				c.write(t, catKey(fmt.Sprintf("s%04d", i), ""), cp)
			}
		},
		args: catRestore("prod"), code: 5, want: "project demo has: s0000, s0001, s0002, s0003, s0004 and more",
		check: func(t *testing.T, c *catCase, r catResult) {
			if len(r.stderr) > 1024 {
				t.Errorf("stderr is %d bytes, want one short line", len(r.stderr))
			}
		},
	}, {
		// Output that cannot be written is an error in every command and
		// format: a full disk is exit 1 with one line, never success.
		name: "stdout-full-ls", backend: "file://", stdout: "/dev/full",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev")),
		args:  []string{"ls", "--backend", "file://$BDIR"}, code: 1, want: "writing output: write /dev/stdout: no space left on device",
	}, {
		name: "stdout-full-restore-dry-run", backend: "file://", stdout: "/dev/full",
		setup: catObjects(catKey("dev", ""), w.checkpoint("dev")),
		args:  catRestore("dev", "--dry-run"), code: 1, want: "writing output: write /dev/stdout: no space left on device",
	}}
}

// catNoSecret fails a row whose output holds any of secrets.
func catNoSecret(secrets ...string) func(*testing.T, *catCase, catResult) {
	return func(t *testing.T, c *catCase, r catResult) {
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("output holds %q:\nstdout %s\nstderr %s", s, r.stdout, r.stderr)
			}
		}
	}
}

// catStaging writes the config-only settings file of examples/project's
// stack staging, which the versitygw rows read.
func catStaging(t *testing.T, c *catCase) {
	c.write(t, "$DIR/Pulumi.staging.yaml", []byte("config:\n  test:value: hello\n"))
}

// catReadOnly makes path refuse writes: chmod 0444/0555 for a normal user,
// the immutable attribute for root (whom permission bits do not stop). The
// row is skipped if neither can be done.
func catReadOnly(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		mode := os.FileMode(0o444)
		if fi.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(path, fi.Mode().Perm()) })
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s read-only for root: chattr +i: %v %s", path, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
}

// catEntry is one file of a tree as a snapshot sees it.
type catEntry struct {
	mode  fs.FileMode
	mtime time.Time
	size  int64
	sum   string // SHA-256 of a regular file's content
	data  []byte // the content of a settings file, for its lines
}

// catSnapshot is every entry below a directory, by relative path.
type catSnapshot map[string]catEntry

// catSnap reads the tree below dir without following symbolic links or
// opening anything but regular files (a FIFO must not block the test).
// Hard links are hashed once.
func catSnap(t *testing.T, dir string) catSnapshot {
	t.Helper()
	snap := catSnapshot{}
	sums := map[[2]uint64]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		e := catEntry{mode: fi.Mode(), mtime: fi.ModTime(), size: fi.Size()}
		if fi.Mode().IsRegular() {
			var id [2]uint64
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				id = [2]uint64{uint64(st.Dev), uint64(st.Ino)}
			}
			if s, ok := sums[id]; ok && id != [2]uint64{} {
				e.sum = s
			} else {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				h := sha256.New()
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
				e.sum = hex.EncodeToString(h.Sum(nil))
				sums[id] = e.sum
			}
			if catIsSettings(rel) {
				if e.data, err = os.ReadFile(p); err != nil {
					return err
				}
			}
		}
		snap[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// catIsSettings reports whether rel names a stack settings file.
func catIsSettings(rel string) bool {
	base := filepath.Base(rel)
	return strings.HasPrefix(base, "Pulumi.") && strings.Count(base, ".") >= 2 &&
		(strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".json"))
}

// assertSame fails on any entry changed (content, mode or mtime), removed
// or added.
func (s catSnapshot) assertSame(t *testing.T, what string, now catSnapshot) {
	t.Helper()
	for k, v := range s {
		w, ok := now[k]
		switch {
		case !ok:
			t.Errorf("%s: %s was removed", what, k)
		case w.mode != v.mode || w.sum != v.sum || w.size != v.size || (v.mode.IsRegular() && !w.mtime.Equal(v.mtime)):
			t.Errorf("%s: %s changed: mode %v → %v, %d → %d bytes, sha256 %.12s → %.12s, mtime %v → %v",
				what, k, v.mode, w.mode, v.size, w.size, v.sum, w.sum, v.mtime, w.mtime)
		}
	}
	for k := range now {
		if _, ok := s[k]; !ok {
			t.Errorf("%s: %s was created", what, k)
		}
	}
}

// assertKept is the check of a command that succeeded: settings files keep
// their mode and every line they had, in order (a leading BOM aside);
// every other entry is unchanged, and only settings files are new.
func (s catSnapshot) assertKept(t *testing.T, what string, now catSnapshot) {
	t.Helper()
	for k, v := range s {
		w, ok := now[k]
		if !ok {
			t.Errorf("%s: %s was removed", what, k)
			continue
		}
		if v.data == nil || !v.mode.IsRegular() {
			s := catSnapshot{k: v}
			s.assertSame(t, what, catSnapshot{k: w})
			continue
		}
		if w.mode != v.mode {
			t.Errorf("%s: %s mode %v → %v", what, k, v.mode, w.mode)
		}
		if line, ok := catLinesKept(v.data, w.data); !ok {
			t.Errorf("%s: %s lost the line %q (or its order)", what, k, line)
		}
	}
	for k := range now {
		if _, ok := s[k]; !ok && !catIsSettings(k) {
			t.Errorf("%s: %s was created", what, k)
		}
	}
}

// catLinesKept reports whether every line of old is in new, in order; if
// not, it returns the first line missing.
func catLinesKept(old, new []byte) (string, bool) {
	bom := []byte("\ufeff")
	o := strings.SplitAfter(string(bytes.TrimPrefix(old, bom)), "\n")
	n := strings.SplitAfter(string(bytes.TrimPrefix(new, bom)), "\n")
	j := 0
	for _, line := range o {
		if line == "" {
			continue
		}
		for j < len(n) && n[j] != line {
			j++
		}
		if j == len(n) {
			return line, false
		}
		j++
	}
	return "", true
}

// catLine is the line of out that holds want, or "".
func catLine(out, want string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, want) {
			return line
		}
	}
	return ""
}

// catControl finds a control byte other than newline and tab.
func catControl(s string) (byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			return c, true
		}
	}
	return 0, false
}

// run runs the binary for row r in case c.
func (c *catCase) run(t *testing.T, r catRow) catResult {
	t.Helper()
	args := make([]string, len(r.args))
	for i, a := range r.args {
		args[i] = c.expand(a)
	}
	extra := append(append([]string(nil), c.w.s3.Env()...), r.env...)
	for i := range extra {
		extra[i] = c.expand(extra[i])
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// A row with a time bound fails soon after it, not after minutes.
	limit := 2 * time.Minute
	if r.within > 0 {
		limit = r.within + 10*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	// The test binary as a small parent (catSpawn) runs stacksync, so that
	// its peak RSS is its own and not the test process's. Both are in a
	// process group of their own, killed whole when the limit passes.
	cmd := exec.CommandContext(ctx, self, append([]string{c.w.bin}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(stacksyncEnv(t, extra...), catSpawnEnv+"=1")
	cmd.Dir = c.root
	cmd.ExtraFiles = []*os.File{pw}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if r.stdout != "" {
		f, err := os.OpenFile(r.stdout, os.O_WRONLY, 0)
		if err != nil {
			t.Skipf("stdout %s: %v", r.stdout, err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	res := catResult{stdout: o.String(), stderr: e.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("stacksync %s: killed after %v: %v", strings.Join(r.args, " "), res.took, err)
	}
	if err != nil {
		if res.code = harness.ExitCode(err); res.code < 0 {
			t.Fatalf("stacksync %s: %v", strings.Join(r.args, " "), err)
		}
	}
	if b, err := io.ReadAll(pr); err == nil {
		res.rss, _ = strconv.ParseInt(string(b), 10, 64)
	}
	return res
}

// catSpawnEnv set in the environment makes the test binary, from init,
// run the command of its arguments and exit with its exit code, writing
// the command's peak RSS in bytes to file descriptor 3. On Linux a child
// started from a process inherits that process's peak RSS at exec (the
// kernel keeps the larger of the two), so stacksync must be started from a
// small process, not from the test process, which holds hundreds of MiB
// after making the bombs. The figure still includes this small parent's
// own RSS at the exec (a few MiB): it errs high, never low.
const catSpawnEnv = "STACKSYNC_CATALOGUE_SPAWN"

func init() {
	if os.Getenv(catSpawnEnv) != "" {
		os.Exit(catSpawn(os.Args[1:]))
	}
}

func catSpawn(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "catSpawn: no command")
		return 125
	}
	cmd := exec.Command(args[0], args[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, catSpawnEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "catSpawn:", err)
		return 125
	}
	out := os.NewFile(3, "rss")
	fmt.Fprint(out, catPeakRSS(cmd.ProcessState))
	out.Close()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// catDoc is one line of docs/reliability.md.
type catDoc struct {
	name, backend, command string
	code                   int
	message                string
	outcome                string
}

// TestCatalogue runs every row of the bad-input catalogue against the real
// stacksync binary. Each row asserts the exit code, a fragment of the
// message, that stdout and stderr hold no raw control byte, that the
// backend directory is untouched, and that the project directory lost
// nothing: byte for byte the same after a failure, every line of every
// settings file kept after a success. A run of the whole table writes
// docs/reliability.md.
func TestCatalogue(t *testing.T) {
	w := newCatWorld(t)
	rows := append(append(append(catRows(w), gsCatRows(w)...), catAzblobRows()...), catRowsPostgres(w)...)
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.name] {
			t.Fatalf("two rows named %s", r.name)
		}
		seen[r.name] = true
	}
	docs := make([]catDoc, 0, len(rows))
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c := w.newCatCase(t)
			if r.setup != nil {
				r.setup(t, c)
			}
			proj, back := catSnap(t, c.dir), catSnap(t, c.bdir)
			res := c.run(t, r)
			t.Logf("exit %d after %v, peak RSS %.1f MiB\nstdout:\n%.2000s\nstderr:\n%.2000s",
				res.code, res.took.Round(time.Millisecond), float64(res.rss)/catMiB, res.stdout, res.stderr)

			want := c.expand(r.want)
			line := catLine(res.stderr, want)
			if line == "" {
				line = catLine(res.stdout, want)
			}
			d := catDoc{name: r.name, backend: r.backend, command: catCommand(r), code: res.code, message: c.unexpand(line)}
			defer func() {
				d.outcome = "pass"
				switch {
				case t.Failed():
					d.outcome = "**FAIL**"
				case t.Skipped():
					d.outcome = "skipped"
				}
				docs = append(docs, d)
			}()

			if res.code != r.code {
				t.Errorf("exit %d, want %d", res.code, r.code)
			}
			if line == "" {
				t.Errorf("neither stdout nor stderr holds %q", want)
			}
			if res.code == 1 && catLine(res.stderr, want) != "" {
				if l := strings.TrimSuffix(res.stderr, "\n"); strings.Contains(l, "\n") {
					t.Errorf("stderr is not one line")
				}
			}
			for _, out := range []string{res.stdout, res.stderr} {
				if b, ok := catControl(out); ok {
					t.Errorf("output holds the raw control byte %#x: %q", b, out)
				}
				for _, bad := range []string{"StatusCode:", "operation error", "RequestID", "panic", "goroutine "} {
					if strings.Contains(out, bad) {
						t.Errorf("output holds %q", bad)
					}
				}
			}
			if r.within > 0 && res.took > r.within {
				t.Errorf("took %v, want at most %v", res.took.Round(time.Millisecond), r.within)
			}
			if r.maxRSS > 0 {
				switch {
				case res.rss == 0:
					t.Logf("peak RSS unknown on %s", runtime.GOOS)
				case res.rss > r.maxRSS:
					t.Errorf("peak RSS %.1f MiB, want at most %d MiB", float64(res.rss)/catMiB, r.maxRSS/catMiB)
				}
			}
			catSnap(t, c.bdir).assertSame(t, "backend", back)
			if res.code == 0 {
				proj.assertKept(t, "project", catSnap(t, c.dir))
			} else {
				proj.assertSame(t, "project", catSnap(t, c.dir))
			}
			if r.check != nil {
				r.check(t, c, res)
			}
		})
	}
	if len(docs) != len(rows) {
		t.Logf("%d of %d rows ran; docs/reliability.md not written", len(docs), len(rows))
		return
	}
	if err := writeReliability(docs); err != nil {
		t.Errorf("writing docs/reliability.md: %v", err)
	}
}

// catCommand is a row's command line as a user would type it, with the
// tokens left in and long arguments cut.
func catCommand(r catRow) string {
	var parts []string
	for _, kv := range r.env {
		if !strings.HasPrefix(kv, "AWS_REGION=") {
			parts = append(parts, kv)
		}
	}
	parts = append(parts, "stacksync")
	for _, a := range r.args {
		switch {
		case a == "":
			a = "''"
		case len(a) > 200:
			a = fmt.Sprintf("%s…(%d bytes)", a[:16], len(a))
		case strings.ContainsAny(a, "&?* "):
			a = "'" + a + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// writeReliability writes docs/reliability.md of the main module.
func writeReliability(docs []catDoc) error {
	dir, err := harness.MainModuleDir()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "docs", "reliability.md"), []byte(renderReliability(docs)), 0o644)
}

// renderReliability renders the table, in the catalogue's order.
func renderReliability(docs []catDoc) string {
	var sb strings.Builder
	sb.WriteString("# Reliability: the bad-input catalogue\n\n")
	sb.WriteString("Written by `TestCatalogue` (`integration/catalogue_test.go`) on every run of the whole table; do not edit by hand.\n")
	sb.WriteString("Each row ran the real stacksync binary on a crafted input and checked the exit code, the message, that\n")
	sb.WriteString("stdout and stderr hold no raw control byte, that the backend was not written, and that the project directory\n")
	sb.WriteString("lost nothing (byte for byte the same after a failure; every line of every settings file kept after a success).\n")
	sb.WriteString("The bomb, large-token and local-file rows also bound the process's peak RSS to 64 MiB, the 50 MB settings file to 200 MiB.\n\n")
	sb.WriteString("`$DIR` is the project directory, `$BDIR` a `file://` backend directory, `$ROOT` the directory holding both;\n")
	sb.WriteString("`$S3` is versitygw, `$DENY` a proxy in front of it answering 403, `$HANG` one that never answers, `$FAULT`\n")
	sb.WriteString("one that injects the fault the row's backend names, and\n")
	sb.WriteString("`$GS` is fake-gcs-server, `$GSDENY` and `$GSHANG` proxies in front of it, `$GS429` a server answering 429,\n")
	sb.WriteString("`$GSKEY` a service account key whose token endpoint refuses it, and\n")
	sb.WriteString("`$PG` is PostgreSQL, `$PGHANG` a TCP listener that never answers, and\n")
	sb.WriteString("`$CLOSED` a port where nothing listens. The message is the line of output the row checked, control characters\n")
	sb.WriteString("escaped; a row marked skipped was not exercised in that run.\n\n")
	sb.WriteString("| case | backend | command | exit | message | result |\n|---|---|---|---|---|---|\n")
	cell := func(s string) string {
		s = catEscape(s)
		if s == "" {
			return ""
		}
		s = strings.ReplaceAll(s, "|", `\|`)
		if strings.Contains(s, "`") {
			// A double-backtick span, padded so that an inner backtick
			// at either end does not merge with the fence.
			return "`` " + s + " ``"
		}
		return "`" + s + "`"
	}
	for _, d := range docs {
		fmt.Fprintf(&sb, "| %s | %s | %s | %d | %s | %s |\n", d.name, d.backend, cell(d.command), d.code, cell(d.message), d.outcome)
	}
	return sb.String()
}

// catEscape escapes control characters as \xNN.
func catEscape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			fmt.Fprintf(&sb, `\x%02x`, c)
		} else {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// catPeakRSS is the peak resident set size of an exited process in bytes,
// as /usr/bin/time -v reports it; 0 if unknown.
func catPeakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes
	}
	return int64(ru.Maxrss) * 1024 // kilobytes
}

// TestCatalogueRender: the table escapes what would break a Markdown
// cell or drive a terminal, and keeps the rows in the catalogue's order.
func TestCatalogueRender(t *testing.T) {
	got := renderReliability([]catDoc{
		{name: "b", backend: "file://", command: "stacksync ls", code: 1, message: "x\x1b[31m | y\x07", outcome: "pass"},
		{name: "a", backend: "-", command: "stacksync `v`", code: 2, outcome: "**FAIL**"},
	})
	for _, want := range []string{
		"| b | file:// | `stacksync ls` | 1 | `x\\x1b[31m \\| y\\x07` | pass |\n",
		"| a | - | `` stacksync `v` `` | 2 |  | **FAIL** |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "| b |") > strings.Index(got, "| a |") {
		t.Errorf("rows reordered:\n%s", got)
	}
	if _, ok := catControl(got); ok {
		t.Errorf("table holds a control byte:\n%q", got)
	}
}
