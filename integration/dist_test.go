package integration

// `make dist`: the release assets, as action.yml downloads them.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// distVersion is the tag the end-to-end tests build releases of.
const distVersion = "v0.0.0-e2e.1"

// distTarget is one released platform.
type distTarget struct{ os, arch string }

// distTargets are the six platforms make dist builds.
var distTargets = []distTarget{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// asset is the release asset of a platform: stacksync_<tag>_<os>_<arch>
// with .tar.gz, or .zip for windows.
func (d distTarget) asset(version string) string {
	ext := ".tar.gz"
	if d.os == "windows" {
		ext = ".zip"
	}
	return "stacksync_" + version + "_" + d.os + "_" + d.arch + ext
}

// exe is the binary's name inside the archive.
func (d distTarget) exe() string {
	if d.os == "windows" {
		return "stacksync.exe"
	}
	return "stacksync"
}

// TestDist: make dist writes <DISTDIR>/<tag>/ holding exactly the six
// archives and a SHA256SUMS that matches them; each archive holds one
// executable of its platform, static, built with -trimpath; and the
// host's binary prints the tag as its version.
func TestDist(t *testing.T) {
	dir := filepath.Join(harness.Dist(t, distVersion), distVersion)
	var want []string
	for _, d := range distTargets {
		want = append(want, d.asset(distVersion))
	}
	want = append(want, "SHA256SUMS")
	slices.Sort(want)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", dir, got, want)
	}

	sums := parseSHA256SUMS(t, readFile(t, filepath.Join(dir, "SHA256SUMS")))
	if len(sums) != len(distTargets) {
		t.Errorf("SHA256SUMS lists %d files, want the %d archives: %v", len(sums), len(distTargets), sums)
	}
	root, err := harness.MainModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range distTargets {
		t.Run(d.os+"-"+d.arch, func(t *testing.T) {
			name := d.asset(distVersion)
			archive := readFile(t, filepath.Join(dir, name))
			sum := sha256.Sum256(archive)
			if s := sums[name]; s != hex.EncodeToString(sum[:]) {
				t.Errorf("SHA256SUMS says %s for %s, the file is %x", s, name, sum)
			}
			bin := archiveBinary(t, name, archive, d.exe())
			checkBinary(t, d, bin)
			if bytes.Contains(bin, []byte(root)) {
				t.Errorf("%s holds the build directory %s: not built with -trimpath", name, root)
			}
			if !bytes.Contains(bin, []byte(distVersion)) {
				t.Errorf("%s does not hold the version %s", name, distVersion)
			}
			if d.os != runtime.GOOS || d.arch != runtime.GOARCH {
				return
			}
			path := filepath.Join(t.TempDir(), d.exe())
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "version").CombinedOutput()
			if err != nil {
				t.Fatalf("%s version: %v\n%s", name, err, out)
			}
			if !slices.Contains(strings.Fields(string(out)), distVersion) {
				t.Errorf("%s version printed %q, want the tag %s", name, out, distVersion)
			}
		})
	}
}

// parseSHA256SUMS parses sha256sum's format: "<hex>  <name>" per line.
func parseSHA256SUMS(t *testing.T, b []byte) map[string]string {
	t.Helper()
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" {
			t.Fatalf("SHA256SUMS line %q is not \"<sha256>  <file>\"", line)
		}
		sums[name] = sum
	}
	return sums
}

// archiveBinary returns the one file of a release archive, which must be
// an executable named exe at the archive's root.
func archiveBinary(t *testing.T, name string, archive []byte, exe string) []byte {
	t.Helper()
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != exe {
			var names []string
			for _, f := range zr.File {
				names = append(names, f.Name)
			}
			t.Fatalf("%s holds %q, want only %s", name, names, exe)
		}
		rc, err := zr.File[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tr := tar.NewReader(zr)
	var bin []byte
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		names = append(names, h.Name)
		if h.Name == exe {
			if h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 {
				t.Errorf("%s: %s is not an executable regular file (type %c, mode %o)", name, exe, h.Typeflag, h.Mode)
			}
			if bin, err = io.ReadAll(tr); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if len(names) != 1 || bin == nil {
		t.Fatalf("%s holds %q, want only %s", name, names, exe)
	}
	return bin
}

// checkBinary checks that bin is an executable of platform d, and on
// linux that it is static: no interpreter, no shared libraries.
func checkBinary(t *testing.T, d distTarget, bin []byte) {
	t.Helper()
	r := bytes.NewReader(bin)
	switch d.os {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			t.Fatalf("not an ELF file: %v", err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[d.arch]
		if f.Machine != want || f.Type != elf.ET_EXEC {
			t.Errorf("ELF %v %v, want an executable for %v", f.Type, f.Machine, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("ELF has a %v segment: dynamically linked, want static (CGO_ENABLED=0)", p.Type)
			}
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("not a Mach-O file: %v", err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[d.arch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("Mach-O %v %v, want an executable for %v", f.Type, f.Cpu, want)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("not a PE file: %v", err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[d.arch]
		if f.Machine != want || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 {
			t.Errorf("PE machine %#x characteristics %#x, want an executable for %#x", f.Machine, f.Characteristics, want)
		}
	}
}
