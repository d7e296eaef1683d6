package state

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDetectLayout(t *testing.T) {
	tests := []struct {
		name    string
		objs    map[string][]byte // metaKey: nil means no meta.yaml
		want    keyLayout
		wantErr error
	}{
		{name: "version 1", objs: map[string][]byte{metaKey: []byte("version: 1\n")}, want: keyLayout{MetaVersion: 1}},
		{name: "version 1 with legacy files", objs: map[string][]byte{metaKey: []byte("version: 1\n"), ".pulumi/stacks/dev.json": []byte("{}")},
			want: keyLayout{MetaVersion: 1}},
		{name: "version 0", objs: map[string][]byte{metaKey: []byte("version: 0\n")}, want: keyLayout{Legacy: true, MetaVersion: 0}},
		{name: "version 2", objs: map[string][]byte{metaKey: []byte("version: 2\n")}, wantErr: ErrUnsupportedVersion},
		{name: "version -1", objs: map[string][]byte{metaKey: []byte("version: -1\n")}, wantErr: ErrUnsupportedVersion},
		{name: "malformed", objs: map[string][]byte{metaKey: []byte("version: [1\n")}, wantErr: ErrCorrupt},
		{name: "not a number", objs: map[string][]byte{metaKey: []byte("version: one\n")}, wantErr: ErrCorrupt},
		{name: "missing version", objs: map[string][]byte{metaKey: []byte("layout: project\n")}, wantErr: ErrCorrupt},
		{name: "64 KiB of comments before the version", objs: map[string][]byte{metaKey: []byte(strings.Repeat("# padding\n", 7000) + "version: 1\n")}, wantErr: ErrCorrupt},
		{name: "just under the limit", objs: map[string][]byte{metaKey: []byte(strings.Repeat("#", maxSmallObject-len("\nversion: 1\n")) + "\nversion: 1\n")}, want: keyLayout{MetaVersion: 1}},
		{name: "empty meta.yaml", objs: map[string][]byte{metaKey: []byte("")}, wantErr: ErrCorrupt},
		{name: "absent, legacy json", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/dev.json": []byte("{}")},
			want: keyLayout{Legacy: true, MetaVersion: -1}},
		{name: "absent, legacy gz", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/dev.json.gz": []byte("{}")},
			want: keyLayout{Legacy: true, MetaVersion: -1}},
		{name: "absent, legacy yaml", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/dev.yaml": []byte("{}")},
			want: keyLayout{Legacy: true, MetaVersion: -1}},
		{name: "absent, legacy and project files", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/dev.json": []byte("{}"), ".pulumi/stacks/p/dev.json": []byte("{}")},
			want: keyLayout{Legacy: true, MetaVersion: -1}},
		{name: "absent, only project dirs", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/p/dev.json": []byte("{}")},
			want: keyLayout{MetaVersion: -1}},
		{name: "absent, only a legacy .bak", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/dev.json.bak": []byte("{}")},
			want: keyLayout{MetaVersion: -1}},
		{name: "absent, invalid legacy name", objs: map[string][]byte{metaKey: nil, ".pulumi/stacks/...json": []byte("{}")},
			want: keyLayout{MetaVersion: -1}},
		{name: "absent, empty", objs: map[string][]byte{metaKey: nil}, want: keyLayout{MetaVersion: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := memBackend(tt.objs)
			got, err := detectLayout(context.Background(), b.Store)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("detectLayout = %+v, %v; want %v", got, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "meta.yaml") {
					t.Errorf("detectLayout error %q does not name meta.yaml", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("detectLayout = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestDetectLayoutStoreError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, _ := memBackend(nil)
	if _, err := detectLayout(ctx, b.Store); !errors.Is(err, context.Canceled) {
		t.Errorf("detectLayout with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestParseStackKey(t *testing.T) {
	tests := []struct {
		key     string
		want    StackRef
		wantExt string
		wantOK  bool
	}{
		{".pulumi/stacks/demo/dev.json", StackRef{"demo", "dev"}, ".json", true},
		{".pulumi/stacks/demo/dev.json.gz", StackRef{"demo", "dev"}, ".json.gz", true},
		{".pulumi/stacks/demo/dev.json.zst", StackRef{"demo", "dev"}, ".json.zst", true},
		{".pulumi/stacks/demo/dev.yaml", StackRef{"demo", "dev"}, ".yaml", true},
		{".pulumi/stacks/demo/dev.yml", StackRef{"demo", "dev"}, ".yml", true},
		{".pulumi/stacks/demo/dev.yaml.gz", StackRef{"demo", "dev"}, ".yaml.gz", true},
		{".pulumi/stacks/demo/dev.eu-west-1.json", StackRef{"demo", "dev.eu-west-1"}, ".json", true},
		{".pulumi/stacks/demo/dev.json.json", StackRef{"demo", "dev.json"}, ".json", true},
		{".pulumi/stacks/dev.json", StackRef{Name: "dev"}, ".json", true},
		{".pulumi/stacks/dev.json.zst", StackRef{Name: "dev"}, ".json.zst", true},
		{".pulumi/stacks/demo/" + strings.Repeat("s", 100) + ".json", StackRef{"demo", strings.Repeat("s", 100)}, ".json", true},

		{".pulumi/stacks/demo/dev.json.bak", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.json.gz.bak", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.pulumi-tags", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.json.attrs", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.json.1712345678901234567", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.json.gz.1712345678901234567", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.gz", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.json.zst.gz", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev.JSON", StackRef{}, "", false},
		{".pulumi/stacks/demo/.json", StackRef{}, "", false},
		{".pulumi/stacks/demo/..json", StackRef{}, "", false},
		{".pulumi/stacks/demo/...json", StackRef{}, "", false},
		{".pulumi/stacks/demo/dev prod.json", StackRef{}, "", false},
		{".pulumi/stacks/demo/" + strings.Repeat("s", 101) + ".json", StackRef{}, "", false},
		{".pulumi/stacks/./dev.json", StackRef{}, "", false},
		{".pulumi/stacks/../dev.json", StackRef{}, "", false},
		{".pulumi/stacks/bad$proj/dev.json", StackRef{}, "", false},
		{".pulumi/stacks//dev.json", StackRef{}, "", false},
		{".pulumi/stacks/demo/sub/dev.json", StackRef{}, "", false},
		{".pulumi/stacks/a/b/c/dev.json", StackRef{}, "", false},
		{".pulumi/stacks/", StackRef{}, "", false},
		{".pulumi/stacks/demo/", StackRef{}, "", false},
		{".pulumi/stacks/.json", StackRef{}, "", false},
		{".pulumi/stacks/..json", StackRef{}, "", false},
		{".pulumi/meta.yaml", StackRef{}, "", false},
		{".pulumi/history/demo/dev/dev-1712345678901234567.checkpoint.json", StackRef{}, "", false},
		{"stacks/demo/dev.json", StackRef{}, "", false},
		{"prefix/.pulumi/stacks/demo/dev.json", StackRef{}, "", false},
	}
	for _, tt := range tests {
		ref, ext, ok := parseStackKey(tt.key)
		if !ok && !tt.wantOK {
			continue // ref and ext are unspecified
		}
		if ok != tt.wantOK || ref != tt.want || ext != tt.wantExt {
			t.Errorf("parseStackKey(%q) = %+v, %q, %v; want %+v, %q, %v", tt.key, ref, ext, ok, tt.want, tt.wantExt, tt.wantOK)
		}
	}
}

func TestSplitStackFile(t *testing.T) {
	tests := []struct {
		file, wantStack, wantExt string
		wantOK                   bool
	}{
		{"dev.json", "dev", ".json", true},
		{"dev.json.gz", "dev", ".json.gz", true},
		{"dev.json.zst", "dev", ".json.zst", true},
		{"dev.yaml", "dev", ".yaml", true},
		{"dev.yml.zst", "dev", ".yml.zst", true},
		{"dev.json.yaml", "dev.json", ".yaml", true},
		{"dev.json.bak", "", "", false},
		{"dev.pulumi-tags", "", "", false},
		{"dev.json.attrs", "", "", false},
		{"dev.json.1712345678901234567", "", "", false},
		{"dev.zst", "", "", false},
		{".json", "", "", false},
		{"..json", "", "", false},
		{"...json.gz", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		stack, ext, ok := splitStackFile(tt.file)
		if stack != tt.wantStack || ext != tt.wantExt || ok != tt.wantOK {
			t.Errorf("splitStackFile(%q) = %q, %q, %v; want %q, %q, %v", tt.file, stack, ext, ok, tt.wantStack, tt.wantExt, tt.wantOK)
		}
	}
}

func TestIsCheckpointExt(t *testing.T) {
	for ext, want := range map[string]bool{
		".json": true, ".json.gz": true, ".json.zst": true,
		".yaml": false, ".yml": false, ".yaml.gz": false, ".json.bak": false, "": false, "json": false,
	} {
		if got := isCheckpointExt(ext); got != want {
			t.Errorf("isCheckpointExt(%q) = %v, want %v", ext, got, want)
		}
	}
}

func TestLayoutKeys(t *testing.T) {
	ref := StackRef{Project: "demo", Name: "dev"}
	legacyRef := StackRef{Name: "dev"}
	project, legacy := keyLayout{MetaVersion: 1}, keyLayout{Legacy: true, MetaVersion: 0}
	tests := []struct {
		name, got, want string
	}{
		{"project stacksPrefix", project.stacksPrefix("demo"), ".pulumi/stacks/demo/"},
		{"project checkpointBase", project.checkpointBase(ref), ".pulumi/stacks/demo/dev.json"},
		{"project backupsPrefix", project.backupsPrefix(ref), ".pulumi/backups/demo/dev/"},
		{"project historyPrefix", project.historyPrefix(ref), ".pulumi/history/demo/dev/"},
		{"project locksPrefix", project.locksPrefix(ref), ".pulumi/locks/organization/demo/dev/"},
		{"legacy stacksPrefix", legacy.stacksPrefix("demo"), ".pulumi/stacks/"},
		{"legacy checkpointBase", legacy.checkpointBase(legacyRef), ".pulumi/stacks/dev.json"},
		{"legacy backupsPrefix", legacy.backupsPrefix(legacyRef), ".pulumi/backups/dev/"},
		{"legacy historyPrefix", legacy.historyPrefix(legacyRef), ".pulumi/history/dev/"},
		{"legacy locksPrefix", legacy.locksPrefix(legacyRef), ".pulumi/locks/dev/"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// checkpointBase and parseStackKey are inverses.
	for _, l := range []keyLayout{project, legacy} {
		r := ref
		if l.Legacy {
			r = legacyRef
		}
		for _, ext := range []string{"", ".gz", ".zst"} {
			got, gotExt, ok := parseStackKey(l.checkpointBase(r) + ext)
			if !ok || got != r || gotExt != ".json"+ext {
				t.Errorf("parseStackKey(checkpointBase(%+v)+%q) = %+v, %q, %v", r, ext, got, gotExt, ok)
			}
		}
	}
}

// TestDetectLayoutLongMeta: a meta.yaml past the read limit is reported as
// too long, not as missing its version (issue row 12).
func TestDetectLayoutLongMeta(t *testing.T) {
	b, _ := memBackend(map[string][]byte{metaKey: []byte(strings.Repeat("# padding\n", 7000) + "version: 1\n")})
	_, err := detectLayout(context.Background(), b.Store)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "larger than") || strings.Contains(err.Error(), "missing version") {
		t.Errorf("detectLayout = %v, want a too-long meta.yaml error", err)
	}
}

func TestParseLockKey(t *testing.T) {
	project, legacy := keyLayout{MetaVersion: 1}, keyLayout{Legacy: true}
	tests := []struct {
		layout keyLayout
		key    string
		want   StackRef
		ok     bool
	}{
		{project, ".pulumi/locks/organization/demo/dev/3f0c.json", StackRef{Project: "demo", Name: "dev"}, true},
		{project, ".pulumi/locks/dev/3f0c.json", StackRef{Name: "dev"}, true}, // a legacy lock left in a project bucket
		{project, ".pulumi/locks/organization/demo/dev", StackRef{}, false},
		{project, ".pulumi/locks/other/demo/dev/x.json", StackRef{}, false},
		{project, ".pulumi/stacks/demo/dev.json", StackRef{}, false},
		{legacy, ".pulumi/locks/dev/3f0c.json", StackRef{Name: "dev"}, true},
		{legacy, ".pulumi/locks/organization/demo/dev/3f0c.json", StackRef{}, false},
	}
	for _, tt := range tests {
		got, ok := tt.layout.parseLockKey(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseLockKey(%s, legacy %v) = %v, %v; want %v, %v", tt.key, tt.layout.Legacy, got, ok, tt.want, tt.ok)
		}
	}
}
