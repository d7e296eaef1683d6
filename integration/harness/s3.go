package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials and region shared by every server the harness starts and by
// the environment it gives pulumi. versitygw is started with these root
// keys; local-kms accepts any credentials.
const (
	AccessKey = "stacksynctestaccess"
	SecretKey = "stacksynctestsecret0123456789"
	Region    = "us-east-1"
)

// S3 is a running versitygw gateway (posix backend) on 127.0.0.1.
type S3 struct {
	Endpoint  string // "http://127.0.0.1:<port>"
	HostPort  string // "127.0.0.1:<port>"
	AccessKey string
	SecretKey string
	Region    string
	Root      string     // the posix directory holding the buckets
	Client    *s3.Client // path-style client talking to Endpoint
}

// StartS3 starts versitygw serving a fresh t.TempDir() on a free 127.0.0.1
// port, waits until it answers S3 requests, and registers a cleanup that
// kills it and waits for it to exit.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	return StartS3InRegion(t, Region)
}

// StartS3InRegion is StartS3 with the gateway serving region, for tests of
// clients that must discover a bucket's region.
func StartS3InRegion(t testing.TB, region string) *S3 {
	t.Helper()
	tools := FindTools(t)
	root := t.TempDir()

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		hp := hostPort(freePort(t))
		cmd := exec.Command(tools.Versitygw,
			"--port", hp,
			"--region", region,
			"--quiet",
			"posix", root)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + root,
			"ROOT_ACCESS_KEY=" + AccessKey,
			"ROOT_SECRET_KEY=" + SecretKey,
		}
		proc := startProcess(t, "versitygw", cmd)
		s := &S3{
			Endpoint:  "http://" + hp,
			HostPort:  hp,
			AccessKey: AccessKey,
			SecretKey: SecretKey,
			Region:    region,
			Root:      root,
		}
		s.Client = s.NewClient(s.Endpoint)
		lastErr = proc.waitFor("versitygw", 30*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := s.Client.ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		})
		if lastErr == nil {
			return s
		}
		_ = cmd.Process.Kill() // e.g. the port was taken meanwhile; retry
	}
	t.Fatalf("harness: starting versitygw: %v", lastErr)
	return nil
}

// NewClient returns a path-style S3 client with the gateway's credentials
// that talks to endpoint, e.g. a RecordingProxy's URL.
func (s *S3) NewClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		// Avoid checksum trailers on uploads unless the operation needs them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Env returns the AWS environment variables a child process needs to reach
// the gateway with its credentials (no endpoint: that goes into URLs).
func (s *S3) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
		"AWS_DEFAULT_REGION=" + s.Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// BackendURL is the pulumi DIY backend URL for bucket (and optional key
// prefix, without leading or trailing slash) on this gateway.
func (s *S3) BackendURL(bucket, prefix string) string {
	return S3BackendURL(s.HostPort, s.Region, bucket, prefix)
}

// S3BackendURL builds the pulumi DIY backend URL
//
//	s3://<bucket>[/<prefix>]?endpoint=<hostPort>&disableSSL=true&s3ForcePathStyle=true&region=<region>
//
// hostPort may be a RecordingProxy's HostPort. This legacy (AWS SDK v1
// style) form is accepted by every pulumi version the harness uses: v3.274.1
// rewrites disableSSL and the scheme-less endpoint itself (spec §5.2).
func S3BackendURL(hostPort, region, bucket, prefix string) string {
	u := "s3://" + bucket
	if p := strings.Trim(prefix, "/"); p != "" {
		u += "/" + p
	}
	return u + "?endpoint=" + hostPort + "&disableSSL=true&s3ForcePathStyle=true&region=" + url.QueryEscape(region)
}

func ctx30() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// CreateBucket creates bucket.
func (s *S3) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	ctx, cancel := ctx30()
	defer cancel()
	if _, err := s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("harness: creating bucket %q: %v", bucket, err)
	}
}

// PutObject stores body under key.
func (s *S3) PutObject(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	ctx, cancel := ctx30()
	defer cancel()
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		t.Fatalf("harness: putting s3://%s/%s: %v", bucket, key, err)
	}
}

// GetObject returns the content of key, failing the test if it is missing.
func (s *S3) GetObject(t testing.TB, bucket, key string) []byte {
	t.Helper()
	b, err := s.TryGetObject(bucket, key)
	if err != nil {
		t.Fatalf("harness: getting s3://%s/%s: %v", bucket, key, err)
	}
	return b
}

// TryGetObject returns the content of key or the error.
func (s *S3) TryGetObject(bucket, key string) ([]byte, error) {
	ctx, cancel := ctx30()
	defer cancel()
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// UploadDir uploads every regular file below dir to bucket, under key
// prefix + the file's slash-separated path relative to dir. prefix is used
// as given: pass "team/" (with the slash) to put files under team/.
func (s *S3) UploadDir(t testing.TB, bucket, prefix, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s.PutObject(t, bucket, prefix+filepath.ToSlash(rel), body)
		return nil
	})
	if err != nil {
		t.Fatalf("harness: uploading %s to s3://%s/%s: %v", dir, bucket, prefix, err)
	}
}

// ListKeys returns all keys in bucket starting with prefix, sorted.
func (s *S3) ListKeys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	ctx, cancel := ctx30()
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket),
		Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("harness: listing s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// DownloadPrefix copies every object under prefix into dir, with the
// prefix stripped from the key, and returns the number of files written.
func (s *S3) DownloadPrefix(t testing.TB, bucket, prefix, dir string) int {
	t.Helper()
	n := 0
	for _, k := range s.ListKeys(t, bucket, prefix) {
		rel := strings.TrimPrefix(k, prefix)
		if rel == "" || strings.Contains("/"+rel+"/", "/../") {
			t.Fatalf("harness: refusing to download key %q", k)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, s.GetObject(t, bucket, k), 0o644); err != nil {
			t.Fatal(fmt.Errorf("harness: %w", err))
		}
		n++
	}
	return n
}
