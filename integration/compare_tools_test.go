//go:build linux

package integration

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stacksync/stacksync/integration/harness"
)

// TestLatencyProxy: the proxy forwards signed requests to versitygw and
// holds each one for at least its delay, which can be changed on the fly.
func TestLatencyProxy(t *testing.T) {
	s := harness.StartS3(t)
	s.CreateBucket(t, "lat")
	s.PutObject(t, "lat", "k", []byte("hello"))
	const delay = 80 * time.Millisecond
	p := harness.StartLatencyProxy(t, s.Endpoint, delay)
	c := s.NewClient(p.URL)
	get := func() time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lat"), Key: aws.String("k")})
		if err != nil {
			t.Fatalf("GET through the latency proxy: %v", err)
		}
		defer out.Body.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(out.Body); err != nil || b.String() != "hello" {
			t.Fatalf("GET through the latency proxy: %q, %v", b.String(), err)
		}
		return time.Since(start)
	}
	for i := range 3 {
		if d := get(); d < delay {
			t.Errorf("request %d took %v, less than the proxy's delay %v", i, d, delay)
		}
	}
	p.SetDelay(0)
	if p.Delay() != 0 {
		t.Errorf("Delay() = %v after SetDelay(0)", p.Delay())
	}
	get()
	if got := p.Requests(); got != 4 {
		t.Errorf("proxy counted %d requests, want 4", got)
	}
}

// TestBareList: the audit floor program lists .pulumi/stacks/, reads the
// first 64 KiB of each checkpoint and nothing else, once each.
func TestBareList(t *testing.T) {
	bin := buildBareList(t)
	s := harness.StartS3(t)
	s.CreateBucket(t, "bare")
	big := bytes.Repeat([]byte("x"), 100_000)
	objs := map[string][]byte{
		".pulumi/meta.yaml":                    []byte("version: 1\n"),
		".pulumi/stacks/a/dev.json":            []byte(`{"version":3}`),
		".pulumi/stacks/a/prod.json.gz":        []byte("gz"),
		".pulumi/stacks/b/big.json.zst":        big,
		".pulumi/stacks/b/dev.json.bak":        big,
		".pulumi/history/a/dev/x.history.json": big,
	}
	for k, v := range objs {
		s.PutObject(t, "bare", k, v)
	}
	p := harness.StartLatencyProxy(t, s.Endpoint, 0)
	for _, j := range []int{1, 2, 64} {
		t.Run(fmt.Sprintf("j=%d", j), func(t *testing.T) {
			before := p.Requests()
			env := append(stacksyncEnv(t, s.Env()...), "AWS_ENDPOINT_URL_S3="+p.URL)
			_, _, stdout, stderr, err := runTimed(command(t.TempDir(), env, bin, "-bucket", "bare", "-path-style", "-j", fmt.Sprint(j)))
			if err != nil {
				t.Fatalf("barelist: %v\n%s", err, stderr)
			}
			want := fmt.Sprintf("3 checkpoints, %d bytes\n", len(`{"version":3}`)+len("gz")+65536)
			if stdout != want || stderr != "" {
				t.Errorf("barelist printed %q (stderr %q), want %q and no stderr", stdout, stderr, want)
			}
			if got := p.Requests() - before; got != 4 {
				t.Errorf("barelist sent %d requests, want 1 listing and 3 GETs", got)
			}
		})
	}
	_, _, _, stderr, err := runTimed(command(t.TempDir(), append(stacksyncEnv(t, s.Env()...), "AWS_ENDPOINT_URL_S3="+p.URL), bin, "-bucket", "missing", "-path-style"))
	if err == nil || !strings.Contains(stderr, "missing") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("barelist on a missing bucket: err %v, stderr %q; want a one-line error naming it", err, stderr)
	}
}

func TestReplaceDocSection(t *testing.T) {
	block := docBegin + "\nNEW\n" + docEnd + "\n"
	tests := []struct {
		name, doc, want string
		wantErr         bool
	}{
		{"append", "# Perf\n\ntext\n", "# Perf\n\ntext\n\n" + block, false},
		{"replace", "# Perf\n\n" + docBegin + "\nOLD\nrows\n" + docEnd + "\n\n## Next\n", "# Perf\n\n" + block + "\n## Next\n", false},
		{"replace at end without newline", "a\n" + docBegin + "\nOLD\n" + docEnd, "a\n" + block, false},
		{"begin only", "a\n" + docBegin + "\nOLD\n", "", true},
		{"end before begin", docEnd + "\n" + docBegin + "\n", "", true},
		{"two sections", block + block, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replaceDocSection(tc.doc, "NEW\n")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestCompareFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtDur(842 * time.Microsecond), "842 µs"},
		{fmtDur(42123 * time.Microsecond), "42.1 ms"},
		{fmtDur(238 * time.Millisecond), "238 ms"},
		{fmtDur(1713 * time.Millisecond), "1.71 s"},
		{fmtDur(27700 * time.Millisecond), "27.7 s"},
		{fmtDelta(-3 * time.Millisecond), "-3.0 ms"},
		{fmtLatency(0), "0 ms"},
		{fmtLatency(20 * time.Millisecond), "20 ms"},
		{fmtLatency(2500 * time.Microsecond), "2.5 ms"},
		{fmtRSS(16 * 1024), "16 MiB"},
		{fmtRSS(2621440), "2.5 GiB"},
		{fmtInt(10000), "10,000"},
		{fmtInt(100000), "100,000"},
		{fmtInt(999), "999"},
		{fmtRatio(238*time.Millisecond, 42*time.Millisecond), "5.7×"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%d: got %q, want %q", i, tc.got, tc.want)
		}
	}
	if _, err := parseInts("16, 32,x"); err == nil {
		t.Error("parseInts accepted x")
	}
	if v, err := parseInts("16,32"); err != nil || len(v) != 2 || v[1] != 32 {
		t.Errorf("parseInts(16,32) = %v, %v", v, err)
	}
}
