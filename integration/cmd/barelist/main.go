// Command barelist is the floor the stacksync audit benchmark compares
// against: what a user would write with aws-sdk-go-v2 to read the head of
// every checkpoint in a Pulumi DIY bucket. It lists .pulumi/stacks/ with
// ListObjectsV2 and, while the listing goes on, sends a ranged GET of the
// first 64 KiB of each checkpoint (.json, .json.gz, .json.zst), -j at a
// time. It decodes nothing; it prints the number of checkpoints and bytes
// read.
//
// The S3 client comes from config.LoadDefaultConfig, so the usual AWS
// environment applies (AWS_ENDPOINT_URL_S3, AWS_REGION, credentials,
// AWS_CA_BUNDLE).
//
//	barelist -bucket state -j 32 -path-style
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "barelist:", err)
		os.Exit(1)
	}
}

// checkpointSuffixes are the endings of the objects barelist reads.
var checkpointSuffixes = []string{".json", ".json.gz", ".json.zst"}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("barelist", flag.ContinueOnError)
	bucket := fs.String("bucket", "", "bucket of the DIY backend (required)")
	prefix := fs.String("prefix", ".pulumi/stacks/", "key prefix to list")
	jobs := fs.Int("j", 16, "ranged GETs in flight at once")
	pathStyle := fs.Bool("path-style", false, "address the bucket in the path (needed for an IP endpoint)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bucket == "" || *jobs < 1 || fs.NArg() != 0 {
		return errors.New("usage: barelist -bucket NAME [-prefix P] [-j N] [-path-style]")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading AWS config: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = *pathStyle
		// Otherwise the SDK logs a line for every GET whose response
		// carries no checksum to validate (a ranged GET).
		o.DisableLogOutputChecksumValidationSkipped = true
	})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	keys := make(chan string, *jobs)
	var (
		wg        sync.WaitGroup
		errOnce   sync.Once
		firstErr  error
		objects   atomic.Int64
		bytesRead atomic.Int64
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range *jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range keys {
				n, err := readHead(ctx, client, *bucket, key)
				if err != nil {
					fail(err)
					continue
				}
				objects.Add(1)
				bytesRead.Add(n)
			}
		}()
	}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: prefix})
list:
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			fail(fmt.Errorf("listing s3://%s/%s: %w", *bucket, *prefix, err))
			break
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !isCheckpoint(key) {
				continue
			}
			select {
			case keys <- key:
			case <-ctx.Done():
				break list
			}
		}
	}
	close(keys)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	_, err = fmt.Fprintf(stdout, "%d checkpoints, %d bytes\n", objects.Load(), bytesRead.Load())
	return err
}

func isCheckpoint(key string) bool {
	for _, s := range checkpointSuffixes {
		if strings.HasSuffix(key, s) {
			return true
		}
	}
	return false
}

// readHead reads the first 64 KiB of key and returns how many bytes came.
func readHead(ctx context.Context, client *s3.Client, bucket, key string) (int64, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Range:  aws.String("bytes=0-65535"),
	})
	if err != nil {
		return 0, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	n, err := io.Copy(io.Discard, out.Body)
	if err != nil {
		return n, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	return n, nil
}
