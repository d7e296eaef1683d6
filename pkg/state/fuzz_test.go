package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stacksync/stacksync/pkg/state/s3store"
)

// FuzzDecodeHead: checkpoint bytes are untrusted. decodeCheckpoint never panics,
// fails only with its sentinels, and is deterministic.
func FuzzDecodeHead(f *testing.F) {
	for _, c := range decodeCases(f) {
		f.Add(c.in)
	}
	// Checkpoints the real pulumi wrote.
	if files, err := filepath.Glob(filepath.Join("testdata", "checkpoints", "*.json*")); err == nil {
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeHead(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("decodeCheckpoint error %v is neither ErrCorrupt nor ErrUnsupportedVersion", err)
			}
			return
		}
		if h.Version < 0 || h.Version > MaxCheckpointVersion {
			t.Fatalf("decodeCheckpoint accepted version %d", h.Version)
		}
		if h.Provider != nil && h.Version < 3 {
			t.Fatalf("version %d checkpoint gave provider %+v", h.Version, *h.Provider)
		}
		if h.Provider != nil && h.Provider.Type == "" {
			t.Fatalf("provider with an empty type: %+v", *h.Provider)
		}
		if h.Provider != nil && !h.HasLatest {
			t.Fatalf("provider %+v without latest", *h.Provider)
		}
		again, err := decodeHead(iotest.OneByteReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("second decodeCheckpoint failed: %v", err)
		}
		if !sameProvider(h.Provider, again.Provider) || h.Version != again.Version || h.Compression != again.Compression {
			t.Fatalf("decodeCheckpoint not deterministic: %+v %s then %+v %s", h, provString(h.Provider), again, provString(again.Provider))
		}
	})
}

// FuzzDecodeHeadMatchesEncodingJSON checks decodeCheckpoint against pulumi's own
// way of reading a checkpoint: json.Unmarshal into its structs (as many of
// their fields as stacksync reads). Wherever pulumi loads a version 3 or 4
// checkpoint, decodeCheckpoint must give the same provider; where pulumi's
// decoding fails, decodeCheckpoint must too.
func FuzzDecodeHeadMatchesEncodingJSON(f *testing.F) {
	for _, c := range decodeCases(f) {
		if len(c.in) > 0 && c.in[0] != 0x1f && c.in[0] != 0x28 {
			f.Add(c.in)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := pulumiDecode(data)
		h, err := decodeHead(bytes.NewReader(data))
		if wantErr != nil {
			if err == nil {
				t.Fatalf("encoding/json fails (%v) but decodeCheckpoint gives version %d provider %s", wantErr, h.Version, provString(h.Provider))
			}
			return
		}
		if err != nil {
			t.Fatalf("encoding/json gives %s but decodeCheckpoint fails: %v", provString(want), err)
		}
		if !sameProvider(h.Provider, want) {
			t.Fatalf("decodeCheckpoint = %s, encoding/json = %s", provString(h.Provider), provString(want))
		}
	})
}

// pulumiDecode decodes a plain checkpoint as
// stack.UnmarshalVersionedCheckpointToLatestCheckpoint and the secrets
// managers do, keeping the fields stacksync reads.
func pulumiDecode(data []byte) (*SecretsProvider, error) {
	var vc struct {
		Version    int             `json:"version"`
		Features   []string        `json:"features"`
		Checkpoint json.RawMessage `json:"checkpoint"`
		Deployment json.RawMessage `json:"deployment"`
	}
	if err := json.Unmarshal(data, &vc); err != nil {
		return nil, err
	}
	type deployment struct {
		SecretsProviders *providerJSON `json:"secrets_providers"`
	}
	if vc.Checkpoint == nil && vc.Deployment != nil && vc.Version >= 3 && vc.Version <= MaxCheckpointVersion {
		// pulumi stack export output, which decodeCheckpoint also reads.
		var d *deployment
		if err := json.Unmarshal(vc.Deployment, &d); err != nil {
			return nil, err
		}
		vc.Checkpoint = []byte(`{"latest":` + string(vc.Deployment) + `}`)
	}
	switch {
	case vc.Version == 0:
		var v1 struct {
			Stack  string    `json:"stack"`
			Latest *struct{} `json:"latest"`
		}
		return nil, json.Unmarshal(data, &v1)
	case vc.Version > MaxCheckpointVersion || vc.Version < 0:
		return nil, errors.New("unsupported version")
	case vc.Version < 3:
		var v1 struct {
			Stack  string    `json:"stack"`
			Latest *struct{} `json:"latest"`
		}
		return nil, json.Unmarshal(vc.Checkpoint, &v1)
	}
	var c struct {
		Stack  string      `json:"stack"`
		Latest *deployment `json:"latest"`
	}
	if err := json.Unmarshal(vc.Checkpoint, &c); err != nil {
		return nil, err
	}
	if c.Latest == nil || c.Latest.SecretsProviders == nil || c.Latest.SecretsProviders.Type == "" {
		return nil, nil
	}
	return providerFrom(c.Latest.SecretsProviders)
}

// FuzzParseBackendURL: backend URLs come from flags, env vars and files.
func FuzzParseBackendURL(f *testing.F) {
	for _, s := range []string{
		"s3://bucket", "s3://b/team/a?region=eu-west-1", "s3://b/x?prefix=p/",
		"s3://bucket?endpoint=minio:9000&disableSSL=true&s3ForcePathStyle=true",
		"s3://bucket?endpoint=https://minio:9000&disableSSL=true", "s3://b?disableSSL=banana",
		"s3://b?request_checksum_calculation=when_supported&awssdk=v2", "s3:///x", "s3://b?%zz",
		"file:///var/state", "file://~", "file://~/x", "file://./state?prefix=p/", "file://", "file://?x",
		"gs://b", "https://api.pulumi.com", "", "://", "s3://", "s3://b/../..", "s3://[::1]/x", "s3://b#frag",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseBackendURL(raw, "/base", "/home/u")
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("ParseBackendURL(%q) error %v does not wrap ErrInvalidURL", raw, err)
			}
			return
		}
		if u.Raw != Redact(raw) {
			t.Fatalf("Raw = %q, want %q, the URL masked", u.Raw, Redact(raw))
		}
		switch u.Scheme {
		case "s3":
			if u.S3.Bucket == "" || u.Dir != "" || u.Prefix != "" || u.S3.URL != u.Raw {
				t.Fatalf("ParseBackendURL(%q) = %+v", raw, u)
			}
			if e := u.S3.Endpoint; e != "" && !strings.Contains(e, "://") {
				t.Fatalf("endpoint %q without a scheme", e)
			}
		case "file":
			if !filepath.IsAbs(u.Dir) || u.S3 != (s3store.Options{}) {
				t.Fatalf("ParseBackendURL(%q) = %+v", raw, u)
			}
		case "gs":
			if u.GS.Bucket == "" || u.GS.URL != u.Raw || u.Dir != "" || u.S3 != (s3store.Options{}) {
				t.Fatalf("ParseBackendURL(%q) = %+v", raw, u)
			}
		default:
			t.Fatalf("ParseBackendURL(%q) scheme %q", raw, u.Scheme)
		}
	})
}

// FuzzParseStackKey: keys come from listing a bucket anyone with write
// access may fill. Whatever parseStackKey accepts must be a safe name.
func FuzzParseStackKey(f *testing.F) {
	for _, s := range []string{
		".pulumi/stacks/demo/dev.json", ".pulumi/stacks/demo/dev.json.gz", ".pulumi/stacks/dev.json.zst",
		".pulumi/stacks/demo/dev.yaml", ".pulumi/stacks/demo/dev.json.bak", ".pulumi/stacks/../dev.json",
		".pulumi/stacks/demo/..json", ".pulumi/stacks/demo/...json", ".pulumi/stacks/a/b/c.json",
		".pulumi/stacks/demo/.json", ".pulumi/stacks/demo/dev.json.1712345678901234567",
		".pulumi/stacks/" + strings.Repeat("p", 101) + "/dev.json",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		ref, ext, ok := parseStackKey(key)
		if !ok {
			return
		}
		if err := ValidateName("stack", ref.Name); err != nil {
			t.Fatalf("parseStackKey(%q) = %+v: %v", key, ref, err)
		}
		// Pulumi's listing puts no length limit on project names, but
		// they must still be safe to join into a path.
		if ref.Project != "" && !validName(ref.Project) {
			t.Fatalf("parseStackKey(%q) = %+v: unsafe project name", key, ref)
		}
		switch ext {
		case ".json", ".json.gz", ".json.zst", ".yaml", ".yaml.gz", ".yaml.zst", ".yml", ".yml.gz", ".yml.zst":
		default:
			t.Fatalf("parseStackKey(%q) ext %q", key, ext)
		}
		// The key is exactly what the layout would build.
		want := stacksDir + ref.Name + ext
		if ref.Project != "" {
			want = stacksDir + ref.Project + "/" + ref.Name + ext
		}
		if key != want {
			t.Fatalf("parseStackKey(%q) = %+v %q, which builds %q", key, ref, ext, want)
		}
	})
}
