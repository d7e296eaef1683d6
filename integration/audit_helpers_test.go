package integration

// Helpers for audit_test.go: synthetic stacks built from the real-pulumi
// checkpoint fixtures, a bounded-concurrency uploader, and a proxy that
// counts the bytes of the responses stacksync reads.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stacksync/stacksync/integration/harness"
)

// auditFixture returns the bytes of a real-pulumi checkpoint fixture
// (pkg/state/testdata/checkpoints, see MANIFEST.md there).
func auditFixture(t testing.TB, name string) []byte {
	t.Helper()
	root, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "pkg", "state", "testdata", "checkpoints", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// auditKV is one member of a JSON object, its value kept raw.
type auditKV struct {
	Key string
	Val json.RawMessage
}

// auditObject is a JSON object that keeps its members' order, so a
// checkpoint re-encoded with a new provider keeps pulumi's field order
// (version first, secrets_providers before resources).
type auditObject []auditKV

func (o *auditObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object: %v %v", t, err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, auditKV{t.(string), v})
	}
	_, err := dec.Token()
	return err
}

func (o auditObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(kv.Val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o auditObject) get(key string) (json.RawMessage, bool) {
	for _, kv := range o {
		if kv.Key == key {
			return kv.Val, true
		}
	}
	return nil, false
}

// set replaces key's value, or inserts it after the member named after.
func (o auditObject) set(key string, val json.RawMessage, after string) auditObject {
	for i := range o {
		if o[i].Key == key {
			o[i].Val = val
			return o
		}
	}
	for i := range o {
		if o[i].Key == after {
			return append(o[:i+1], append(auditObject{{key, val}}, o[i+1:]...)...)
		}
	}
	return append(o, auditKV{key, val})
}

// auditSP is a secrets_providers value.
type auditSP struct {
	Type  string `json:"type"`
	State any    `json:"state"`
}

func auditCloudSP(url, key string) auditSP {
	return auditSP{Type: "cloud", State: map[string]string{"url": url, "encryptedkey": key}}
}

func auditPassphraseSP(salt string) auditSP {
	return auditSP{Type: "passphrase", State: map[string]string{"salt": salt}}
}

// auditWithProvider returns the checkpoint raw (plain JSON, compact or
// indented) with checkpoint.latest.secrets_providers replaced by sp,
// re-encoded with encoding/json (which escapes & as \u0026, as old pulumi
// did). With indent the result is 4-space indented, as pulumi before
// v3.225 wrote it.
func auditWithProvider(t testing.TB, raw []byte, sp auditSP, indent bool) []byte {
	t.Helper()
	var top auditObject
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	cpRaw, _ := top.get("checkpoint")
	var cp auditObject
	if err := json.Unmarshal(cpRaw, &cp); err != nil {
		t.Fatalf("fixture checkpoint: %v", err)
	}
	latestRaw, ok := cp.get("latest")
	if !ok {
		t.Fatalf("fixture has no latest")
	}
	var latest auditObject
	if err := json.Unmarshal(latestRaw, &latest); err != nil {
		t.Fatalf("fixture latest: %v", err)
	}
	spRaw, err := json.Marshal(sp)
	if err != nil {
		t.Fatal(err)
	}
	latest = latest.set("secrets_providers", spRaw, "manifest")
	enc := func(o auditObject) json.RawMessage {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cp = cp.set("latest", enc(latest), "stack")
	top = top.set("checkpoint", enc(cp), "version")
	out := []byte(enc(top))
	if indent {
		var b bytes.Buffer
		if err := json.Indent(&b, out, "", "    "); err != nil {
			t.Fatal(err)
		}
		out = b.Bytes()
	}
	return out
}

// auditFingerprint is the first 12 hex characters of the SHA-256 of an
// encrypted key, as the issue defines encryptedkey_sha256.
func auditFingerprint(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:12]
}

// auditDataKey is a distinct, realistic-looking encrypted data key.
func auditDataKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return base64.StdEncoding.EncodeToString(append([]byte("Karn:aws:kms:us-east-1:111122223333:key/x\x00\x00\x00\x00"), append(sum[:], sum[:16]...)...))
}

// auditUpload puts every object into bucket with at most workers requests
// at once.
func auditUpload(t testing.TB, s *harness.S3, bucket string, objects map[string][]byte, workers int) {
	t.Helper()
	type item struct {
		key  string
		body []byte
	}
	ch := make(chan item)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
					Bucket:        aws.String(bucket),
					Key:           aws.String(it.key),
					Body:          bytes.NewReader(it.body),
					ContentLength: aws.Int64(int64(len(it.body))),
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("putting s3://%s/%s: %w", bucket, it.key, err)
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for k, v := range objects {
		if ctx.Err() != nil {
			break
		}
		ch <- item{k, v}
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// auditByteProxy is a loopback reverse proxy to an S3 gateway that counts
// requests and the response body bytes it passes back, split into object
// GETs and listings. The Host header is kept so SigV4 signatures verify.
type auditByteProxy struct {
	HostPort string

	objectGets, objectBytes atomic.Int64
	lists, listBytes        atomic.Int64
	others                  atomic.Int64 // requests other than GET and HEAD
}

func auditStartByteProxy(t testing.TB, target string) *auditByteProxy {
	t.Helper()
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &auditByteProxy{HostPort: ln.Addr().String()}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(tu)
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			req := resp.Request
			if req.Method != http.MethodGet {
				return nil
			}
			// Path-style: "/bucket" lists, "/bucket/key" reads an object.
			counter := &p.listBytes
			if strings.Contains(strings.TrimPrefix(req.URL.Path, "/"), "/") {
				counter = &p.objectBytes
				p.objectGets.Add(1)
			} else {
				p.lists.Add(1)
			}
			resp.Body = auditCountingBody{resp.Body, counter}
			return nil
		},
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				p.others.Add(1)
			}
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("audit proxy: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

type auditCountingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b auditCountingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// auditReport is one stack of `stacksync audit -o json`.
type auditReport struct {
	Project                 string    `json:"project"`
	Stack                   string    `json:"stack"`
	Provider                string    `json:"provider"`
	SecretsProvider         string    `json:"secretsprovider"`
	Key                     string    `json:"key"`
	Region                  string    `json:"region"`
	EncryptedKeySHA         string    `json:"encryptedkey_sha256"`
	Object                  string    `json:"object"`
	Size                    int64     `json:"size"`
	LastModified            time.Time `json:"last_modified"`
	Compression             string    `json:"compression"`
	CheckpointVersion       int       `json:"checkpoint_version"`
	Locked                  bool      `json:"locked"`
	Legacy                  bool      `json:"legacy"`
	Flipped                 bool      `json:"flipped"`
	PreviousProvider        string    `json:"previous_provider"`
	PreviousSecretsProvider string    `json:"previous_secretsprovider"`
	PreviousObject          string    `json:"previous_object"`
	Error                   string    `json:"error"`
}

type auditOutput struct {
	Stacks  []auditReport `json:"stacks"`
	Summary struct {
		Stacks    int            `json:"stacks"`
		Providers map[string]int `json:"providers"`
		Flipped   int            `json:"flipped"`
		Locked    int            `json:"locked"`
		Errors    int            `json:"errors"`
	} `json:"summary"`
}

func auditDecode(t testing.TB, out string) auditOutput {
	t.Helper()
	var o auditOutput
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("audit -o json output: %v\n%.2000s", err, out)
	}
	return o
}

// auditClasses is the order in which the table's summary line names the
// provider classes.
var auditClasses = []string{"awskms", "gcpkms", "azurekeyvault", "hashivault", "passphrase", "service", "none", "unknown"}

// auditSummaryLine is the table's summary line for these counts.
func auditSummaryLine(n int, counts map[string]int, locked, errs int) string {
	var parts []string
	for _, c := range auditClasses {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, counts[c]))
		}
	}
	line := fmt.Sprintf("%d stacks", n)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	if locked > 0 {
		line += fmt.Sprintf("; %d locked", locked)
	}
	if errs > 0 {
		line += fmt.Sprintf("; %d unreadable", errs)
	}
	return line
}
