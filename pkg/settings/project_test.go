package settings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles creates files (name -> content) under dir; a name ending in "/"
// makes a directory.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindProject(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		from     string // directory to search from, relative to the temp dir
		wantPath string // relative to the temp dir; "" means ErrNoProject
		want     Project
	}{
		{
			name:     "in the directory",
			files:    map[string]string{"Pulumi.yaml": "name: proj\nruntime: go\n"},
			from:     ".",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "proj", Ext: ".yaml"},
		},
		{
			name:     "in a parent",
			files:    map[string]string{"Pulumi.yaml": "name: proj\n", "a/b/c/": ""},
			from:     "a/b/c",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "proj", Ext: ".yaml"},
		},
		{
			name:     "nearest wins",
			files:    map[string]string{"Pulumi.yaml": "name: outer\n", "a/Pulumi.yml": "name: inner\n", "a/b/": ""},
			from:     "a/b",
			wantPath: "a/Pulumi.yml",
			want:     Project{Name: "inner", Ext: ".yml"},
		},
		{
			name: "json before yaml before yml",
			files: map[string]string{
				"Pulumi.json": `{"name": "j", "backend": {"url": "s3://bucket"}}`,
				"Pulumi.yaml": "name: y\n", "Pulumi.yml": "name: yml\n",
			},
			from:     ".",
			wantPath: "Pulumi.json",
			want:     Project{Name: "j", Ext: ".json", BackendURL: "s3://bucket"},
		},
		{
			name:     "yaml before yml",
			files:    map[string]string{"Pulumi.yml": "name: yml\n", "Pulumi.yaml": "name: y\n"},
			from:     ".",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "y", Ext: ".yaml"},
		},
		{
			name:     "directory named Pulumi.yaml is skipped",
			files:    map[string]string{"Pulumi.yaml": "name: outer\n", "a/Pulumi.yaml/": ""},
			from:     "a",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "outer", Ext: ".yaml"},
		},
		{
			name: "stackConfigDir and backend",
			files: map[string]string{"Pulumi.yaml": "name: proj\nstackConfigDir: config\n" +
				"backend:\n  url: s3://state-bucket?region=us-west-2\n"},
			from:     ".",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "proj", Ext: ".yaml", StackConfigDir: "config", BackendURL: "s3://state-bucket?region=us-west-2"},
		},
		{
			name:     "legacy config string",
			files:    map[string]string{"Pulumi.yaml": "name: proj\nconfig: stacks\n"},
			from:     ".",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "proj", Ext: ".yaml", StackConfigDir: "stacks"},
		},
		{
			name:     "project config map is not a directory",
			files:    map[string]string{"Pulumi.yaml": "name: proj\nconfig:\n  aws:region:\n    default: us-west-2\n"},
			from:     ".",
			wantPath: "Pulumi.yaml",
			want:     Project{Name: "proj", Ext: ".yaml"},
		},
		{
			name:  "none",
			files: map[string]string{"a/": "", "Pulumi.dev.yaml": "config: {}\n"},
			from:  "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			from := filepath.Join(dir, tt.from)
			p, err := FindProject(t.Context(), from)
			if tt.wantPath == "" {
				if !errors.Is(err, ErrNoProject) {
					t.Fatalf("FindProject = %v, %v; want ErrNoProject", p, err)
				}
				if !strings.Contains(err.Error(), from) || strings.Contains(err.Error(), "-C") {
					t.Errorf("error %q should name %s and no command-line flag", err, from)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Path = filepath.Join(dir, tt.wantPath)
			want.Dir = filepath.Dir(want.Path)
			if *p != want {
				t.Errorf("FindProject =\n%+v\nwant\n%+v", *p, want)
			}
		})
	}
}

func TestFindProjectRelative(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Pulumi.yaml": "name: proj\n", "sub/": ""})
	t.Chdir(filepath.Join(dir, "sub"))
	p, err := FindProject(t.Context(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(p.Path) || filepath.Base(p.Path) != "Pulumi.yaml" || p.Dir != filepath.Dir(p.Path) {
		t.Errorf("got Path %q Dir %q; want absolute paths", p.Path, p.Dir)
	}
}

func TestLoadProjectErrors(t *testing.T) {
	tests := []struct {
		name, file, content, want string
	}{
		{"no name", "Pulumi.yaml", "runtime: go\n", "no name"},
		{"empty name", "Pulumi.yaml", "name: \"\"\n", "no name"},
		{"null name", "Pulumi.yaml", "name:\n", "no name"},
		{"empty file", "Pulumi.yaml", "", "no name"},
		{"bad yaml", "Pulumi.yaml", "name: [\n", "Pulumi.yaml"},
		{"both config and stackConfigDir", "Pulumi.yaml", "name: p\nconfig: a\nstackConfigDir: b\n", "stackConfigDir"},
		{"bad extension", "Pulumi.toml", "name: p\n", "extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			writeFiles(t, dir, map[string]string{tt.file: tt.content})
			_, err := LoadProject(t.Context(), path)
			if err == nil {
				t.Fatal("LoadProject succeeded; want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) && tt.name != "bad yaml" {
				t.Errorf("error %q should mention %q and the file", err, tt.want)
			}
		})
	}
	if _, err := LoadProject(t.Context(), filepath.Join(t.TempDir(), "Pulumi.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}

func TestSettingsPath(t *testing.T) {
	dir := filepath.FromSlash("/work/proj")
	tests := []struct {
		name  string
		p     Project
		stack string
		want  string // slash-separated; "" means ErrInvalidStackName
	}{
		{"plain", Project{Dir: dir, Ext: ".yaml"}, "dev", "/work/proj/Pulumi.dev.yaml"},
		{"dots kept", Project{Dir: dir, Ext: ".yaml"}, "dev.eu-west-1", "/work/proj/Pulumi.dev.eu-west-1.yaml"},
		{"yml", Project{Dir: dir, Ext: ".yml"}, "dev", "/work/proj/Pulumi.dev.yml"},
		{"json", Project{Dir: dir, Ext: ".json"}, "prod_2", "/work/proj/Pulumi.prod_2.json"},
		{"stackConfigDir", Project{Dir: dir, Ext: ".yaml", StackConfigDir: "config"}, "dev", "/work/proj/config/Pulumi.dev.yaml"},
		{"stackConfigDir up", Project{Dir: dir, Ext: ".yaml", StackConfigDir: "../shared"}, "dev", "/work/shared/Pulumi.dev.yaml"},
		{"100 bytes", Project{Dir: dir, Ext: ".yaml"}, strings.Repeat("a", 100), "/work/proj/Pulumi." + strings.Repeat("a", 100) + ".yaml"},
		{"empty", Project{Dir: dir, Ext: ".yaml"}, "", ""},
		{"dot", Project{Dir: dir, Ext: ".yaml"}, ".", ""},
		{"dotdot", Project{Dir: dir, Ext: ".yaml"}, "..", ""},
		{"slash", Project{Dir: dir, Ext: ".yaml"}, "a/b", ""},
		{"qualified", Project{Dir: dir, Ext: ".yaml"}, "organization/proj/dev", ""},
		{"backslash", Project{Dir: dir, Ext: ".yaml"}, `a\b`, ""},
		{"space", Project{Dir: dir, Ext: ".yaml"}, "a b", ""},
		{"unicode", Project{Dir: dir, Ext: ".yaml"}, "dév", ""},
		{"too long", Project{Dir: dir, Ext: ".yaml"}, strings.Repeat("a", 101), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.SettingsPath(tt.stack)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidStackName) {
					t.Fatalf("SettingsPath(%q) = %q, %v; want ErrInvalidStackName", tt.stack, got, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.stack)) {
					t.Errorf("error %q should name the stack", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != filepath.FromSlash(tt.want) {
				t.Errorf("SettingsPath(%q) = %q, want %q", tt.stack, got, filepath.FromSlash(tt.want))
			}
		})
	}
}

func TestSettingsFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Pulumi.yaml":               "name: proj\n",
		"Pulumi.dev.yaml":           "",
		"Pulumi.prod.eu-1.yaml":     "",
		"Pulumi.other.yml":          "",
		"Pulumi..yaml":              "",
		"Pulumi.a b.yaml":           "",
		"Pulumi.dir.yaml/":          "",
		"README.md":                 "",
		"config/Pulumi.nested.yaml": "",
	})
	if err := os.Symlink("Pulumi.dev.yaml", filepath.Join(dir, "Pulumi.linked.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing", filepath.Join(dir, "Pulumi.dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	p := &Project{Dir: dir, Ext: ".yaml"}
	got, err := p.SettingsFiles()
	if err != nil {
		t.Fatal(err)
	}
	// A directory or a dangling link named as a settings file is listed:
	// the read that follows refuses it with a message, where a skip would
	// hide it.
	if want := []string{"dangling", "dev", "dir", "linked", "prod.eu-1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SettingsFiles = %q, want %q", got, want)
	}

	p.StackConfigDir = "config"
	if got, err = p.SettingsFiles(); err != nil || !reflect.DeepEqual(got, []string{"nested"}) {
		t.Errorf("SettingsFiles with stackConfigDir = %q, %v; want [nested]", got, err)
	}
	p.StackConfigDir = "missing"
	if got, err = p.SettingsFiles(); err != nil || len(got) != 0 {
		t.Errorf("SettingsFiles of a missing directory = %q, %v; want none", got, err)
	}
}

func TestFindProjects(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a/Pulumi.yaml":              "name: a\n",
		"a/nested/Pulumi.yml":        "name: n\n",
		"b/Pulumi.json":              `{"name": "b"}`,
		"b/Pulumi.yaml":              "name: b\n", // Pulumi.json wins in the same directory
		".git/Pulumi.yaml":           "name: g\n",
		"node_modules/x/Pulumi.yaml": "name: x\n",
		"vendor/y/Pulumi.yaml":       "name: y\n",
		"c/Pulumi.dev.yaml":          "config: {}\n", // a settings file, not a project
	})
	got, err := FindProjects(root)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, w := range []string{"a/Pulumi.yaml", "a/nested/Pulumi.yml", "b/Pulumi.json"} {
		want = append(want, filepath.Join(root, filepath.FromSlash(w)))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FindProjects = %v, want %v", got, want)
	}
	if _, err := FindProjects(filepath.Join(root, "missing")); err == nil {
		t.Error("FindProjects of a missing directory succeeded")
	}
}

// yaml.v3 reports type errors over several lines; the user gets one.
func TestLoadProjectErrorIsOneLine(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Pulumi.yaml": "name: demo\nstackConfigDir: {a: b}\nbackend: file:///x\n"})
	_, err := LoadProject(t.Context(), filepath.Join(dir, "Pulumi.yaml"))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "fix the project file") {
		t.Errorf("LoadProject error %q; want one line with a next step", err)
	}
}
