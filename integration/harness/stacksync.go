package harness

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// MainModule is the module path of the stacksync CLI.
const MainModule = "github.com/stacksync/stacksync"

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	tempDirs  struct {
		sync.Mutex
		dirs []string
	}
)

// BuildStacksync builds ./cmd/stacksync of the main module (the parent of
// the integration module) once per test binary and returns the binary's
// path. The binary lives in a process-wide temp dir that Main removes.
func BuildStacksync(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { buildBin, buildErr = buildStacksync() })
	if buildErr != nil {
		t.Fatalf("harness: building stacksync: %v", buildErr)
	}
	return buildBin
}

func buildStacksync() (string, error) {
	root, err := MainModuleDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "stacksync-bin-")
	if err != nil {
		return "", err
	}
	tempDirs.Lock()
	tempDirs.dirs = append(tempDirs.dirs, dir)
	tempDirs.Unlock()
	bin := filepath.Join(dir, "stacksync")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/stacksync")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/stacksync in %s: %v\n%s", root, err, out)
	}
	return bin, nil
}

// MainModuleDir finds the directory of the main module's go.mod by walking
// up from the working directory (tests run in their package directory,
// somewhere below integration/).
func MainModuleDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if modulePath(filepath.Join(dir, "go.mod")) == MainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module " + MainModule + " above " + wd)
		}
		dir = parent
	}
}

func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Main runs the tests and removes the harness's process-wide temp dirs
// (e.g. the stacksync binary). Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if err := writeMatrix(); err != nil {
		fmt.Fprintln(os.Stderr, "writing docs/compatibility.md:", err)
		if code == 0 {
			code = 1
		}
	}
	tempDirs.Lock()
	defer tempDirs.Unlock()
	for _, d := range tempDirs.dirs {
		_ = os.RemoveAll(d)
	}
	return code
}

// lookupFlag returns the value of a registered command-line flag, or "".
func lookupFlag(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}
