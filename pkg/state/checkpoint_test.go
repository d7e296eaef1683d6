package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stacksync/stacksync/pkg/state/storetest"
)

var (
	provPassphrase = &SecretsProvider{Type: TypePassphrase, Salt: testSalt}
	provKMS        = &SecretsProvider{Type: TypeCloud, URL: testKMSURL, EncryptedKey: testKMSKey}
	provService    = &SecretsProvider{Type: TypeService, URL: "https://api.pulumi.com"}
)

func sameProvider(a, b *SecretsProvider) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func provString(p *SecretsProvider) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%+v", *p)
}

// decodeCase is one decodeCheckpoint input and what it must give.
type decodeCase struct {
	name    string
	in      []byte
	want    Head
	wantErr error
	// partial: compare only Version and Provider (the v0 top-level form,
	// whose stack and latest stacksync does not read).
	partial bool
}

func decodeCases(t testing.TB) []decodeCase {
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 3}.Build()
	pass := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt)}.Build()
	wantKMS := Head{Version: 3, Compression: CompressionNone, Stack: "organization/demo/dev", HasLatest: true, Provider: provKMS}
	wantPass := Head{Version: 3, Compression: CompressionNone, Stack: "organization/demo/dev", HasLatest: true, Provider: provPassphrase}
	with := func(h Head, f func(*Head)) Head { f(&h); return h }

	// spec §9.1, verbatim apart from the elisions.
	spec91 := `{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"manifest":` + storetest.Manifest +
		`,"secrets_providers":{"type":"passphrase","state":{"salt":"` + testSalt + `"}},"metadata":{}}}}`
	// spec §2.5, the cloud form right after stack init.
	spec25 := `{"version":3,"checkpoint":{"stack":"organization/p/dev","latest":{"manifest":` + storetest.Manifest +
		`,"secrets_providers":{"type":"cloud","state":{"url":"awskms://alias/x?region=eu-west-1","encryptedkey":"AQIDAHh` + "==" + `"}},"metadata":{}}}}`
	// pulumi stack export output: 4-space indent, {version, deployment}.
	export := indent(t, []byte(`{"version":3,"deployment":{"manifest":`+storetest.Manifest+`,"secrets_providers":`+storetest.Cloud(testKMSURL, testKMSKey)+`,"resources":[`+storetest.Resource(1)+`],"metadata":{}}}`))

	return []decodeCase{
		{name: "spec 9.1 passphrase", in: []byte(spec91), want: wantPass},
		{name: "spec 2.5 cloud after init", in: []byte(spec25), want: Head{Version: 3, Compression: CompressionNone, Stack: "organization/p/dev", HasLatest: true,
			Provider: &SecretsProvider{Type: TypeCloud, URL: "awskms://alias/x?region=eu-west-1", EncryptedKey: "AQIDAHh=="}}},
		{name: "v3 cloud compact", in: kms, want: wantKMS},
		{name: "stack export", in: export, want: with(wantKMS, func(h *Head) { h.Stack = "" })},
		{name: "stack export gzip", in: storetest.Gzip(t, export), want: with(wantKMS, func(h *Head) { h.Stack = ""; h.Compression = CompressionGzip })},
		{name: "v3 cloud indented", in: indent(t, kms), want: wantKMS},
		{name: "v3 cloud gzip", in: storetest.Gzip(t, kms), want: with(wantKMS, func(h *Head) { h.Compression = CompressionGzip })},
		{name: "v3 cloud indented gzip", in: storetest.Gzip(t, indent(t, kms)), want: with(wantKMS, func(h *Head) { h.Compression = CompressionGzip })},
		{name: "v3 cloud zstd", in: storetest.Zstd(t, kms), want: with(wantKMS, func(h *Head) { h.Compression = CompressionZstd })},
		{name: "v3 passphrase zstd", in: storetest.Zstd(t, pass), want: with(wantPass, func(h *Head) { h.Compression = CompressionZstd })},
		{name: "v3 passphrase", in: pass, want: wantPass},
		{name: "v3 service", in: storetest.Checkpoint{Version: 3, Provider: storetest.Service}.Build(),
			want: with(wantPass, func(h *Head) { h.Provider = provService })},
		{name: "v3 service insecure", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"service","state":{"url":"https://api.pulumi.com","owner":"acme","project":"demo","stack":"dev","insecure":true}}`}.Build(),
			want: with(wantPass, func(h *Head) { h.Provider = provService })},
		{name: "v4 with features", in: storetest.Checkpoint{Version: 4, Features: []string{"refreshBeforeUpdate", "views"}, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 1}.Build(),
			want: with(wantKMS, func(h *Head) { h.Version = 4 })},
		{name: "v4 features indented", in: indent(t, storetest.Checkpoint{Version: 4, Features: []string{"hooks"}, Provider: storetest.Passphrase(testSalt)}.Build()),
			want: with(wantPass, func(h *Head) { h.Version = 4 })},
		{name: "v2 has no provider", in: storetest.Checkpoint{Version: 2, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 1}.Build(),
			want: with(wantKMS, func(h *Head) { h.Version = 2; h.Provider = nil })},
		{name: "v1", in: storetest.Checkpoint{Version: 1, Resources: 2}.Build(),
			want: with(wantKMS, func(h *Head) { h.Version = 1; h.Provider = nil })},
		{name: "v0 after stack init step 1", in: []byte(`{"version":0,"checkpoint":{"stack":"organization/p/dev"}}`),
			want: Head{Version: 0, Compression: CompressionNone, Stack: "organization/p/dev"}},
		{name: "v0 top-level stack and latest, no version key", partial: true,
			in:   []byte(`{"stack":"dev","latest":{"manifest":` + storetest.Manifest + `,"resources":[` + storetest.Resource(0) + `]}}`),
			want: Head{Version: 0}},
		{name: "v0 top-level with a secrets_providers", partial: true,
			in:   []byte(`{"stack":"dev","latest":{"manifest":` + storetest.Manifest + `,"secrets_providers":` + storetest.Passphrase(testSalt) + `}}`),
			want: Head{Version: 0}},
		{name: "v0 indented", partial: true,
			in:   indent(t, []byte(`{"stack":"dev","latest":{"manifest":`+storetest.Manifest+`}}`)),
			want: Head{Version: 0}},
		{name: "v5", in: storetest.Checkpoint{Version: 5, Provider: storetest.Passphrase(testSalt)}.Build(), wantErr: ErrUnsupportedVersion},
		{name: "v-1", in: storetest.Checkpoint{Version: -1, Provider: storetest.Passphrase(testSalt)}.Build(), wantErr: ErrUnsupportedVersion},
		{name: "v5 version after checkpoint", in: []byte(`{"checkpoint":{"stack":"s"},"version":5}`), wantErr: ErrUnsupportedVersion},
		{name: "missing latest", in: storetest.Checkpoint{Version: 3, NoLatest: true}.Build(),
			want: Head{Version: 3, Compression: CompressionNone, Stack: "organization/demo/dev"}},
		{name: "latest null", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":null}}`),
			want: Head{Version: 3, Compression: CompressionNone, Stack: "organization/demo/dev"}},
		{name: "latest without secrets_providers", in: storetest.Checkpoint{Version: 3, Resources: 2}.Build(),
			want: with(wantKMS, func(h *Head) { h.Provider = nil })},
		{name: "secrets_providers null", in: storetest.Checkpoint{Version: 3, Provider: "null"}.Build(),
			want: with(wantKMS, func(h *Head) { h.Provider = nil })},
		{name: "secrets_providers after resources", in: storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 50, ProviderLast: true}.Build(), want: wantKMS},
		{name: "secrets_providers after resources indented", in: indent(t, storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt), Resources: 5, ProviderLast: true}.Build()), want: wantPass},
		{name: "version after checkpoint", in: []byte(`{"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `}},"version":3}`),
			want: with(wantPass, func(h *Head) {})},
		{name: "stack after latest", in: []byte(`{"version":3,"checkpoint":{"latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `},"stack":"organization/demo/dev"}}`),
			want: wantPass},
		{name: "unknown keys everywhere", in: []byte(`{"x":[1,{"a":[]}],"version":3,"y":null,"checkpoint":{"config":{"demo:foo":"bar"},"stack":"organization/demo/dev","latest":{"z":{"secrets_providers":1},"secrets_providers":` + storetest.Passphrase(testSalt) + `}}}`),
			want: wantPass},
		{name: "empty type", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"","state":null}`}.Build(),
			want: with(wantPass, func(h *Head) { h.Provider = nil })},
		{name: "no type", in: storetest.Checkpoint{Version: 3, Provider: `{"state":{"salt":"v1:x"}}`}.Build(),
			want: with(wantPass, func(h *Head) { h.Provider = nil })},
		{name: "unknown type b64", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"b64","state":null}`}.Build(),
			want: with(wantPass, func(h *Head) { h.Provider = &SecretsProvider{Type: "b64"} })},
		{name: "unknown type without state", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"vaultish"}`}.Build(),
			want: with(wantPass, func(h *Head) { h.Provider = &SecretsProvider{Type: "vaultish"} })},
		{name: "escaped strings", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"cloud","state":{"url":"awskms://alias/x?region=eu-west-1\u0026context_a=b","encryptedkey":"AQ\/x+w=="}}`}.Build(),
			want: with(wantPass, func(h *Head) {
				h.Provider = &SecretsProvider{Type: TypeCloud, URL: "awskms://alias/x?region=eu-west-1&context_a=b", EncryptedKey: "AQ/x+w=="}
			})},

		// As json.Unmarshal into pulumi's structs: the last of repeated
		// keys wins, a repeated object merges into the earlier one, and
		// keys match their field case-insensitively.
		{name: "repeated secrets_providers: the last wins", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Cloud(testKMSURL, testKMSKey) + `,"resources":[],"secrets_providers":` + storetest.Passphrase(testSalt) + `}}}`),
			want: wantPass},
		{name: "repeated latest merges", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `},"latest":{"resources":[]}}}`),
			want: wantPass},
		{name: "repeated latest: null then object forgets", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `},"latest":null,"latest":{}}}`),
			want: with(wantPass, func(h *Head) { h.Provider = nil })},
		{name: "repeated secrets_providers merges type and state", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":{"type":"cloud","state":{"salt":"x"}},"secrets_providers":{"state":{"salt":"` + testSalt + `"},"type":"passphrase"}}}}`),
			want: wantPass},
		{name: "repeated checkpoint: the last replaces the first whole", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Cloud(testKMSURL, testKMSKey) + `}},"checkpoint":{"latest":{}}}`),
			want: Head{Version: 3, Compression: CompressionNone, HasLatest: true}},
		{name: "repeated version: the last wins", in: []byte(`{"version":5,"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `}}}`),
			want: wantPass},
		{name: "version null keeps the earlier one", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `}},"version":null}`),
			want: wantPass},
		{name: "keys match case-insensitively", in: []byte(`{"Version":3,"CHECKPOINT":{"Stack":"organization/demo/dev","Latest":{"Secrets_Providers":{"Type":"passphrase","State":{"SALT":"` + testSalt + `"}}}}}`),
			want: wantPass},
		{name: "escaped key", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets\u005fproviders":` + storetest.Passphrase(testSalt) + `}}}`),
			want: wantPass},
		{name: "the investigation's capitalised Latest", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev","Latest":{"secrets_providers":` + storetest.Cloud(testKMSURL, testKMSKey) + `}}}`),
			want: wantKMS},
		{name: "trailing white space", in: append(append([]byte(nil), pass...), " \n\t\r\n"...), want: wantPass},
		{name: "a stack field in a v0 file's checkpoint member is not read by pulumi", in: []byte(`{"version":0,"checkpoint":{"stack":5}}`),
			want: Head{Version: 0, Compression: CompressionNone}},
		{name: "a v1 file's secrets_providers is not read by pulumi", in: []byte(`{"version":1,"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":7}}}`),
			want: Head{Version: 1, Compression: CompressionNone, Stack: "organization/demo/dev", HasLatest: true}},

		{name: "trailing data", in: append(append([]byte(nil), pass...), " x"...), wantErr: ErrCorrupt},
		{name: "a second document", in: append(append([]byte(nil), pass...), pass...), wantErr: ErrCorrupt},
		{name: "bad JSON after the provider", in: []byte(`{"version":3,"checkpoint":{"latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `,"resources":[1,]}}}`), wantErr: ErrCorrupt},
		{name: "control character in a string after the provider", in: []byte("{\"version\":3,\"checkpoint\":{\"latest\":{\"secrets_providers\":" + storetest.Passphrase(testSalt) + ",\"x\":\"a\x01b\"}}}"), wantErr: ErrCorrupt},
		{name: "bad escape", in: []byte(`{"version":3,"x":"\q"}`), wantErr: ErrCorrupt},
		{name: "leading zero", in: []byte(`{"version":3,"x":01}`), wantErr: ErrCorrupt},
		{name: "version too large for an int", in: []byte(`{"version":123456789012345678901234567890}`), wantErr: ErrCorrupt},
		{name: "empty input", in: nil, wantErr: ErrCorrupt},
		{name: "whitespace", in: []byte("  \n"), wantErr: ErrCorrupt},
		{name: "not JSON", in: []byte("hello, world"), wantErr: ErrCorrupt},
		{name: "YAML", in: []byte("version: 3\ncheckpoint:\n  stack: dev\n"), wantErr: ErrCorrupt},
		{name: "array", in: []byte(`[{"version":3}]`), wantErr: ErrCorrupt},
		{name: "null is an empty version-0 checkpoint to pulumi", in: []byte(`null`), want: Head{Compression: CompressionNone}},
		{name: "v3 without a checkpoint member", in: []byte(`{"version":3}`), wantErr: ErrCorrupt},
		{name: "string", in: []byte(`"version"`), wantErr: ErrCorrupt},
		{name: "version string", in: []byte(`{"version":"3","checkpoint":{}}`), wantErr: ErrCorrupt},
		{name: "version float", in: []byte(`{"version":3.5,"checkpoint":{}}`), wantErr: ErrCorrupt},
		{name: "checkpoint not an object", in: []byte(`{"version":3,"checkpoint":[]}`), wantErr: ErrCorrupt},
		{name: "latest not an object", in: []byte(`{"version":3,"checkpoint":{"latest":"x"}}`), wantErr: ErrCorrupt},
		{name: "secrets_providers not an object", in: storetest.Checkpoint{Version: 3, Provider: `"passphrase"`}.Build(), wantErr: ErrCorrupt},
		{name: "type not a string", in: storetest.Checkpoint{Version: 3, Provider: `{"type":3}`}.Build(), wantErr: ErrCorrupt},
		{name: "state a string", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"passphrase","state":"v1:x"}`}.Build(), wantErr: ErrCorrupt},
		{name: "salt not a string", in: storetest.Checkpoint{Version: 3, Provider: `{"type":"passphrase","state":{"salt":1}}`}.Build(), wantErr: ErrCorrupt},
		{name: "unterminated", in: []byte(`{"version":3,"checkpoint":{"stack":"organization/demo/dev"`), wantErr: ErrCorrupt},
		{name: "gzip magic then garbage", in: append([]byte{0x1f, 0x8b, 0x08}, "garbage garbage"...), wantErr: ErrCorrupt},
		{name: "zstd magic then garbage", in: append([]byte{0x28, 0xb5, 0x2f, 0xfd}, "garbage garbage"...), wantErr: ErrCorrupt},
		{name: "gzip of garbage", in: storetest.Gzip(t, []byte("not json")), wantErr: ErrCorrupt},
		{name: "zstd of garbage", in: storetest.Zstd(t, []byte("not json")), wantErr: ErrCorrupt},
		{name: "gzip of empty", in: storetest.Gzip(t, nil), wantErr: ErrCorrupt},
		{name: "just the gzip magic", in: []byte{0x1f, 0x8b, 0x08}, wantErr: ErrCorrupt},
		{name: "just the zstd magic", in: []byte{0x28, 0xb5, 0x2f, 0xfd}, wantErr: ErrCorrupt},
	}
}

// decodeHead decodes with the default options.
func decodeHead(r io.Reader) (Head, error) {
	return decodeCheckpoint(context.Background(), r, decodeOptions{})
}

func TestDecodeHead(t *testing.T) {
	for _, tt := range decodeCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeHead(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("decodeCheckpoint = %+v, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeCheckpoint: %v", err)
			}
			if !sameProvider(got.Provider, tt.want.Provider) {
				t.Errorf("Provider = %s, want %s", provString(got.Provider), provString(tt.want.Provider))
			}
			if tt.partial {
				if got.Version != tt.want.Version {
					t.Errorf("Version = %d, want %d", got.Version, tt.want.Version)
				}
				return
			}
			got.Provider, tt.want.Provider, got.Size = nil, nil, 0
			if got != tt.want {
				t.Errorf("decodeCheckpoint =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeHeadOneByteReads feeds every case one byte at a time: the
// decoder must not depend on how reads are split.
func TestDecodeHeadOneByteReads(t *testing.T) {
	for _, tt := range decodeCases(t) {
		whole, wholeErr := decodeHead(bytes.NewReader(tt.in))
		got, err := decodeHead(iotest.OneByteReader(bytes.NewReader(tt.in)))
		if (err == nil) != (wholeErr == nil) || !sameProvider(got.Provider, whole.Provider) || got.Version != whole.Version {
			t.Errorf("%s: one byte at a time = %s, %v; whole = %s, %v", tt.name, provString(got.Provider), err, provString(whole.Provider), wholeErr)
		}
	}
}

func TestDecodeHeadReaderError(t *testing.T) {
	boom := errors.New("boom")
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	r := io.MultiReader(bytes.NewReader(kms[:40]), iotest.ErrReader(boom))
	if _, err := decodeHead(r); err == nil {
		t.Fatal("decodeCheckpoint of a failing reader succeeded")
	}
}

// TestDecodeHeadReadsWhole checks that decodeCheckpoint reads to the end, as
// json.Unmarshal does: a reader that fails after the provider is an error,
// not a provider that pulumi might not load.
func TestDecodeHeadReadsWhole(t *testing.T) {
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 2000}.Build()
	end := bytes.Index(kms, []byte(`,"resources"`))
	boom := errors.New("read past the provider")
	r := io.MultiReader(bytes.NewReader(kms[:end+8192]), iotest.ErrReader(boom))
	if h, err := decodeHead(r); !errors.Is(err, boom) {
		t.Fatalf("decodeCheckpoint = %s, %v; want %v", provString(h.Provider), err, boom)
	}
}

// TestDecodeHeadTruncated cuts checkpoints at every byte: decodeCheckpoint must
// return ErrCorrupt or the right provider, never panic, never another
// provider.
func TestDecodeHeadTruncated(t *testing.T) {
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey), Resources: 2}.Build()
	after := storetest.Checkpoint{Version: 3, Provider: storetest.Passphrase(testSalt), Resources: 1, ProviderLast: true}.Build()
	versionLast := []byte(`{"checkpoint":{"stack":"organization/demo/dev","latest":{"secrets_providers":` + storetest.Passphrase(testSalt) + `}},"version":3}`)
	inputs := []struct {
		name string
		data []byte
		want *SecretsProvider
	}{
		{"compact", kms, provKMS},
		{"indented", indent(t, kms), provKMS},
		{"provider after resources", after, provPassphrase},
		{"version last", versionLast, provPassphrase},
		{"export", indent(t, []byte(`{"version":3,"deployment":{"manifest":`+storetest.Manifest+`,"secrets_providers":`+storetest.Cloud(testKMSURL, testKMSKey)+`}}`)), provKMS},
		{"gzip", storetest.Gzip(t, kms), provKMS},
		{"zstd", storetest.Zstd(t, kms), provKMS},
		{"zstd provider after resources", storetest.Zstd(t, after), provPassphrase},
	}
	for _, in := range inputs {
		// Only trailing white space may go: json.Unmarshal refuses any
		// other cut, and so does pulumi.
		whole := len(bytes.TrimRight(in.data, " \t\r\n"))
		if in.name == "gzip" || strings.HasPrefix(in.name, "zstd") {
			whole = len(in.data)
		}
		for cut := 0; cut <= len(in.data); cut++ {
			h, err := decodeHead(bytes.NewReader(in.data[:cut]))
			if cut < whole {
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s cut at %d of %d: decodeCheckpoint = %s, %v; want ErrCorrupt", in.name, cut, len(in.data), provString(h.Provider), err)
				}
				continue
			}
			if err != nil || !sameProvider(h.Provider, in.want) || h.Version != 3 {
				t.Errorf("%s cut at %d of %d: version %d provider %s, %v; want 3 %s", in.name, cut, len(in.data), h.Version, provString(h.Provider), err, provString(in.want))
			}
		}
	}
}

func TestDecodeHeadMagicOnly(t *testing.T) {
	// A plain checkpoint that merely starts like a compressed one is not
	// possible (JSON starts with '{' or whitespace), so check the other way
	// round: compression is detected whatever the caller believes.
	kms := storetest.Checkpoint{Version: 3, Provider: storetest.Cloud(testKMSURL, testKMSKey)}.Build()
	for name, in := range map[string][]byte{CompressionNone: kms, CompressionGzip: storetest.Gzip(t, kms), CompressionZstd: storetest.Zstd(t, kms)} {
		h, err := decodeHead(bytes.NewReader(in))
		if err != nil || h.Compression != name || !sameProvider(h.Provider, provKMS) {
			t.Errorf("%s: decodeCheckpoint = %+v %s, %v", name, h, provString(h.Provider), err)
		}
	}
}

func TestDecodeHeadLargeStringsInResources(t *testing.T) {
	// A resource with a string much larger than any buffer.
	big := strings.Repeat("x", 1<<20)
	in := []byte(`{"version":3,"checkpoint":{"latest":{"resources":[{"urn":"` + big + `"}],"secrets_providers":` + storetest.Passphrase(testSalt) + `}}}`)
	h, err := decodeHead(bytes.NewReader(in))
	if err != nil || !sameProvider(h.Provider, provPassphrase) {
		t.Fatalf("decodeCheckpoint = %s, %v", provString(h.Provider), err)
	}
}

// A stack field that is not a string must not shift the decoder onto the
// wrong latest (pulumi rejects both files).
func TestDecodeHeadNonStringStack(t *testing.T) {
	for _, in := range []string{
		`{"version":3,"checkpoint":{"stack":["x"],"latest":{"secrets_providers":{"type":"passphrase","state":{"salt":"v1:ok"}}}}}`,
		`{"version":3,"checkpoint":{"stack":{"latest":{"secrets_providers":{"type":"passphrase","state":{"salt":"v1:evil"}}}}}}`,
	} {
		h, err := decodeHead(strings.NewReader(in))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeHead(%s) = %+v, %v; want ErrCorrupt", in, h.Provider, err)
		}
	}
}

// Type errors name the field, not the Go type it failed to fill.
func TestDecodeHeadTypeErrorMessage(t *testing.T) {
	_, err := decodeHead(strings.NewReader(`{"version":3,"checkpoint":{"latest":{"secrets_providers":{"type":"cloud","state":{"url":7}}}}}`))
	if !errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "Go value") || !strings.Contains(err.Error(), "url") {
		t.Errorf("error %v; want ErrCorrupt naming url without Go types", err)
	}
}
