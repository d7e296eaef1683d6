package state

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

func TestS3ErrorUnreachable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	err := s3Error(fmt.Errorf("operation error S3: ListObjectsV2, exceeded maximum number of attempts, 3: %w", dial), "s3://b")
	if !strings.HasPrefix(err.Error(), "cannot reach S3 for s3://b: dial tcp: connect: connection refused; check the endpoint") {
		t.Errorf("s3Error = %q", err)
	}
	var got *net.OpError
	if !errors.As(err, &got) {
		t.Errorf("s3Error does not wrap the dial error: %v", err)
	}
}

func TestS3ErrorHeadBucketNotFound(t *testing.T) {
	err := s3Error(&smithy.GenericAPIError{Code: "NotFound", Message: "Not Found"}, "s3://nobkt")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "bucket s3://nobkt does not exist") {
		t.Errorf("s3Error(NotFound) = %v", err)
	}
}
