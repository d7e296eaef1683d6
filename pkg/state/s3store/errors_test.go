package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// TestS3HungEndpoint: a server that accepts the connection and never
// answers fails every request after MaxAttempts × ResponseHeaderTimeout,
// with a message naming the endpoint that does not read as the caller's
// own deadline.
func TestS3HungEndpoint(t *testing.T) {
	f := newFakeS3(t)
	f.put(objKey, []byte("{}"), "v1")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if conn, _ := hijack(t, w); conn != nil {
			<-done
			_ = conn.Close()
		}
		return true
	}
	opts := Options{ResponseHeaderTimeout: 300 * time.Millisecond, MaxAttempts: 2}
	s := f.store(t, opts)
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, err := s.ReadRange(context.Background(), objKey, 0, -1); return err }},
		{"list", func() error {
			return s.List(context.Background(), ".pulumi/", true, func(store.Object) error { return nil })
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			err := op.call()
			d := time.Since(start)
			want := "S3 endpoint " + f.srv.URL + " for s3://bkt did not answer within 300ms (2 attempts)"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err %v, want it to contain %q", err, want)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v matches context.DeadlineExceeded", err)
			}
			if strings.Contains(fmt.Sprint(err), "StatusCode") {
				t.Errorf("err %v carries the SDK's raw text", err)
			}
			if bound := opts.hangBound(); d < 600*time.Millisecond || d > bound+2*time.Second {
				t.Errorf("failed after %s, want between 600ms and %s", d, bound)
			}
		})
	}
}

// TestS3Cancel: a cancelled or expired context gives an error that wraps
// the context's error with a short message, not the SDK's text.
func TestS3Cancel(t *testing.T) {
	f := newFakeS3(t)
	f.put(objKey, randomBytes(1000), "v1")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
		if conn, _ := hijack(t, w); conn != nil {
			<-done
			_ = conn.Close()
		}
		return true
	}
	s := f.store(t, Options{})
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := s.ReadRange(ctx, objKey, 0, -1)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want it to wrap %v", err, tt.want)
			}
			if want := "reading s3://bkt/" + objKey + ": " + tt.want.Error(); err.Error() != want {
				t.Errorf("err %q, want %q", err, want)
			}
		})
	}
}

// TestS3Retries: 5xx and throttling answers are retried by the standard
// retryer up to MaxAttempts, for GETs and listings alike.
func TestS3Retries(t *testing.T) {
	tests := []struct {
		name     string
		failures []int // statuses of the first answers
		codes    []string
		attempts int
		wantErr  string // "" for success
	}{
		{"503 SlowDown then ok", []int{503, 503}, []string{"SlowDown", "SlowDown"}, 3, ""},
		{"500 then ok", []int{500}, []string{"InternalError"}, 3, ""},
		{"502 503 then ok", []int{502, 503}, []string{"BadGateway", "ServiceUnavailable"}, 3, ""},
		{"503 past the attempts", []int{503, 503, 503}, []string{"SlowDown", "SlowDown", "SlowDown"}, 3, "answered 503 SlowDown for s3://bkt (3 attempts)"},
		{"fewer attempts", []int{500, 500}, []string{"InternalError", "InternalError"}, 2, "answered 500 InternalError for s3://bkt (2 attempts)"},
		{"429 then ok", []int{429}, []string{"TooManyRequests"}, 3, ""},
		{"429 past the attempts", []int{429, 429, 429}, []string{"TooManyRequests", "TooManyRequests", "TooManyRequests"}, 3,
			"answered 429 TooManyRequests for s3://bkt (3 attempts); the server limits the rate of requests: make fewer at once, or try again later"},
	}
	for _, tt := range tests {
		for _, op := range []string{"get", "list"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				f := newFakeS3(t)
				obj := randomBytes(1000)
				f.put(objKey, obj, "v1")
				f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
					if i >= len(tt.failures) {
						return false
					}
					s3ErrorReply(w, tt.failures[i], tt.codes[i], "try again")
					return true
				}
				s := f.store(t, Options{MaxAttempts: tt.attempts})
				var err error
				if op == "get" {
					var rc io.ReadCloser
					if rc, err = s.ReadRange(context.Background(), objKey, 0, -1); err == nil {
						var got []byte
						got, err = readAllWithin(t, rc, 10*time.Second)
						if err == nil && !bytes.Equal(got, obj) {
							t.Errorf("got %d bytes, want the object", len(got))
						}
					}
				} else {
					var keys []string
					err = s.List(context.Background(), ".pulumi/", true, func(o store.Object) error { keys = append(keys, o.Key); return nil })
					if err == nil && (len(keys) != 1 || keys[0] != objKey) {
						t.Errorf("listed %v", keys)
					}
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("err %v, want success through retries", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("err %v, want it to contain %q", err, tt.wantErr)
				}
				want := min(len(tt.failures)+1, tt.attempts)
				if n := len(f.requests()); n != want {
					t.Errorf("%d requests, want %d", n, want)
				}
			})
		}
	}
}

// TestS3ErrorMessages: what S3 servers answer for bad credentials, a wrong
// region, a missing bucket or key, mapped to the sentinels and to a hint.
func TestS3ErrorMessages(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		code     string
		msg      string
		header   map[string]string
		sentinel error
		want     string
	}{
		{"versitygw unknown key id", 404, "XAdminUserNotFound", "No user exists with the provided access key ID.", nil, store.ErrAccessDenied,
			"access denied (XAdminUserNotFound) on s3://bkt: the server knows no such access key id; check AWS_ACCESS_KEY_ID"},
		{"aws unknown key id", 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", nil, store.ErrAccessDenied,
			"access denied (InvalidAccessKeyId) on s3://bkt: the server knows no such access key id"},
		{"wrong secret", 403, "SignatureDoesNotMatch", "The request signature we calculated does not match", nil, store.ErrAccessDenied,
			"access denied (SignatureDoesNotMatch) on s3://bkt: the secret access key does not match the access key id; check AWS_SECRET_ACCESS_KEY"},
		{"denied", 403, "AccessDenied", "Access Denied", nil, store.ErrAccessDenied,
			"access denied (AccessDenied) on s3://bkt: check the AWS credentials and the bucket policy"},
		{"versitygw wrong region", 400, "AuthorizationHeaderMalformed", `The authorization header is malformed; the region "us-east-1" is wrong; expecting "eu-west-1"`, nil, nil,
			"bucket s3://bkt is in region eu-west-1, not us-east-1: set AWS_REGION=eu-west-1 or add ?region=eu-west-1 to the backend URL"},
		{"aws wrong region", 400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'ap-south-1'", nil, nil,
			"bucket s3://bkt is in region ap-south-1, not us-east-1"},
		{"redirect", 301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.", map[string]string{"X-Amz-Bucket-Region": "eu-central-1"}, nil,
			"bucket s3://bkt is in region eu-central-1, not us-east-1: set AWS_REGION=eu-central-1"},
		{"expired session token", 400, "ExpiredToken", "The provided token has expired.", nil, store.ErrAccessDenied,
			"access denied (ExpiredToken) on s3://bkt: the session token of the AWS credentials has expired; get fresh credentials"},
		{"expired session token exception", 403, "ExpiredTokenException", "The security token included in the request is expired", nil, store.ErrAccessDenied,
			"access denied (ExpiredTokenException) on s3://bkt: the session token of the AWS credentials has expired"},
		{"no such bucket", 404, "NoSuchBucket", "The specified bucket does not exist", nil, store.ErrNotFound,
			"not found: bucket s3://bkt does not exist; check the backend URL"},
		{"no such key", 404, "NoSuchKey", "The specified key does not exist.", nil, store.ErrNotFound, "not found: NoSuchKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeS3(t)
			f.fault = func(i int, w http.ResponseWriter, r *http.Request) bool {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				s3ErrorReply(w, tt.status, tt.code, tt.msg)
				return true
			}
			s := f.store(t, Options{})
			_, err := s.ReadRange(context.Background(), objKey, 0, -1)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v does not wrap %v", err, tt.sentinel)
			}
			if tt.sentinel == nil && (errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAccessDenied)) {
				t.Errorf("err %v wraps a sentinel it should not", err)
			}
			if want := "reading s3://bkt/" + objKey + ": " + tt.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err\n  %v\nwant it to start\n  %s", err, want)
			}
			if strings.Contains(err.Error(), "StatusCode") || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %q is not one short line", err)
			}
		})
	}
}

// TestS3Unreachable: a refused connection names the endpoint and keeps the
// dial error for errors.As.
func TestS3Unreachable(t *testing.T) {
	f := newFakeS3(t)
	s := f.store(t, Options{MaxAttempts: 2})
	url := f.srv.URL
	f.srv.Close()
	_, err := s.ReadRange(context.Background(), objKey, 0, -1)
	want := "reading s3://bkt/" + objKey + ": cannot reach S3 endpoint " + url + " for s3://bkt: dial tcp "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "; check the endpoint and that the server is up") {
		t.Errorf("err %v, want it to start %q", err, want)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("err %v does not wrap the dial error", err)
	}
}
