package settings

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/stacksync/stacksync/internal/localfile"
	"github.com/stacksync/stacksync/pkg/state"
	"gopkg.in/yaml.v3"
)

// ErrNoProject is returned by FindProject when no Pulumi project file exists
// in a directory or any of its parents.
var ErrNoProject = errors.New("no Pulumi project file (Pulumi.yaml, Pulumi.yml or Pulumi.json) found")

// ErrInvalidStackName is returned when a stack name cannot be used to build
// a settings file name. It is state.ErrInvalidName: the same names are
// refused when reading state and when writing settings files.
var ErrInvalidStackName = state.ErrInvalidName

// projectFileNames are the project file names Pulumi looks for, in the order
// it tries them within one directory.
var projectFileNames = []string{"Pulumi.json", "Pulumi.yaml", "Pulumi.yml"}

// Project is a Pulumi project file (Pulumi.yaml, Pulumi.yml or Pulumi.json)
// and the facts stacksync needs from it.
type Project struct {
	// Path is the absolute path of the project file.
	Path string
	// Dir is the directory that holds the project file.
	Dir string
	// Name is the project name.
	Name string
	// Ext is the project file's extension: ".yaml", ".yml" or ".json".
	// Stack settings files use the same extension.
	Ext string
	// StackConfigDir is the stackConfigDir setting as written in the file
	// (possibly relative to Dir), or "" when stack settings files live next
	// to the project file.
	StackConfigDir string
	// BackendURL is backend.url from the project file, or "".
	BackendURL string
}

// FindProject looks for a Pulumi project file in dir and then in each of its
// parents, as pulumi does, trying Pulumi.json, Pulumi.yaml and Pulumi.yml in
// that order within one directory. It returns an error wrapping ErrNoProject
// when there is none. The file found is read as [LoadProject] reads it.
func FindProject(ctx context.Context, dir string) (*Project, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("find Pulumi project from %s: %w", dir, err)
	}
	for d := start; ; {
		path, err := projectFileIn(d)
		if err != nil {
			return nil, fmt.Errorf("find Pulumi project: %w", err)
		}
		if path != "" {
			return LoadProject(ctx, path)
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return nil, fmt.Errorf("%w in %s or any parent directory", ErrNoProject, start)
}

// projectFileIn returns the path of the project file in dir (Pulumi.json,
// Pulumi.yaml or Pulumi.yml, in that order), or "" when there is none. As
// for pulumi, anything but a directory is a project file: a named pipe or a
// device there is refused when it is read, not passed over for a parent's.
func projectFileIn(dir string) (string, error) {
	for _, name := range projectFileNames {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		switch {
		case err == nil && !fi.IsDir():
			return path, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotDir(err):
			return "", err
		}
	}
	return "", nil
}

// FindProjects walks root for Pulumi projects and returns the paths of their
// project files, sorted. It skips directories whose names start with a dot,
// node_modules and vendor.
func FindProjects(root string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return fmt.Errorf("find Pulumi projects under %s: %w", root, err)
			}
			return nil // an unreadable subdirectory holds no project we can check
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor") {
			return filepath.SkipDir
		}
		file, err := projectFileIn(path)
		if err != nil {
			return fmt.Errorf("find Pulumi projects under %s: %w", root, err)
		}
		if file != "" {
			found = append(found, file)
		}
		return nil
	})
	sort.Strings(found)
	return found, err
}

// isNotDir reports whether err says a path component is not a directory,
// which happens when dir names a file.
func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

// projectFile is the part of a Pulumi project file that stacksync reads.
type projectFile struct {
	Name           yaml.Node `yaml:"name"`
	StackConfigDir string    `yaml:"stackConfigDir"`
	Config         yaml.Node `yaml:"config"`
	Backend        *struct {
		URL string `yaml:"url"`
	} `yaml:"backend"`
}

// projectLimit caps a project file. It holds the project's settings and,
// for a YAML program, its resources: kilobytes, a few hundred KiB for a
// large program. 4 MiB keeps the whole-document parse below about 150 MiB
// even for the densest YAML.
var projectLimit = localfile.Limit{Max: 4 << 20, Of: "a Pulumi project file"}

// LoadProject reads the Pulumi project file at path. YAML and JSON project
// files are both read with a YAML parser, since JSON is YAML. The file
// must be a regular file (or a symlink to one) of at most 4 MiB: a named
// pipe or a device is refused without blocking on it, and the read stops
// when ctx is done.
func LoadProject(ctx context.Context, path string) (*Project, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load Pulumi project %s: %w", path, err)
	}
	ext := filepath.Ext(abs)
	switch ext {
	case ".yaml", ".yml", ".json":
	default:
		return nil, fmt.Errorf("load Pulumi project %s: unsupported extension %q (want .yaml, .yml or .json)", abs, ext)
	}
	data, err := localfile.Read(ctx, abs, projectLimit)
	if err != nil {
		return nil, fmt.Errorf("load Pulumi project: %w", err)
	}
	var pf projectFile
	if err := yaml.Unmarshal(data, &pf); err != nil {
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", ";")), " ")
		return nil, fmt.Errorf("load Pulumi project %s: %s; fix the project file", abs, msg)
	}
	p := &Project{Path: abs, Dir: filepath.Dir(abs), Ext: ext, StackConfigDir: pf.StackConfigDir}
	if pf.Name.Kind == yaml.ScalarNode && pf.Name.Tag != "!!null" {
		p.Name = pf.Name.Value
	}
	if p.Name == "" {
		return nil, fmt.Errorf("load Pulumi project %s: the project file has no name: add a name: line", abs)
	}
	// Pulumi rewrites a string-valued config: (the legacy spelling) to
	// stackConfigDir, and refuses a file that has both.
	if c := pf.Config; c.Kind == yaml.ScalarNode && c.Tag != "!!null" {
		if p.StackConfigDir != "" {
			return nil, fmt.Errorf("load Pulumi project %s: both config and stackConfigDir set the stack config directory: keep only stackConfigDir", abs)
		}
		p.StackConfigDir = c.Value
	}
	if pf.Backend != nil {
		p.BackendURL = pf.Backend.URL
	}
	return p, nil
}

// settingsDir returns the directory that holds the project's stack settings
// files: Dir, or Dir joined with StackConfigDir when that is set (joined the
// way pulumi joins it, so an absolute StackConfigDir still lands under Dir).
func (p *Project) settingsDir() string {
	if p.StackConfigDir == "" {
		return p.Dir
	}
	return filepath.Join(p.Dir, p.StackConfigDir)
}

// SettingsPath returns the path of the settings file of stack, which must be
// a bare stack name ("dev", not "organization/proj/dev"): Pulumi.<stack><Ext>
// in settingsDir. Dots in the name are kept. It returns an error wrapping
// ErrInvalidStackName when the name could escape the directory or is not a
// name Pulumi accepts.
func (p *Project) SettingsPath(stack string) (string, error) {
	if err := state.ValidateName("stack", stack); err != nil {
		return "", err
	}
	return filepath.Join(p.settingsDir(), "Pulumi."+stack+p.Ext), nil
}

// SettingsFiles returns the sorted names of the stacks that have a settings
// file (Pulumi.<stack><Ext>) in settingsDir. Files whose stack part is not a
// valid stack name are skipped, and so is the project file itself. A missing
// directory has no settings files.
func (p *Project) SettingsFiles() ([]string, error) {
	dir := p.settingsDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list stack settings files: %w", err)
	}
	var stacks []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "Pulumi.") || !strings.HasSuffix(name, p.Ext) ||
			len(name) <= len("Pulumi.")+len(p.Ext) {
			continue
		}
		stack := name[len("Pulumi.") : len(name)-len(p.Ext)]
		if state.ValidateName("stack", stack) != nil {
			continue
		}
		// A FIFO, device or directory of that name is listed too: it is
		// the stack's settings file as pulumi would open it, and the
		// caller's read refuses it with a message, where a skip would
		// hide it.
		stacks = append(stacks, stack)
	}
	sort.Strings(stacks)
	return stacks, nil
}
