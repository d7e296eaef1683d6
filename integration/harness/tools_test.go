package harness

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The versions tools.sh installs are the ones the harness names: each
// pinned variable of the script equals its constant here.
func TestToolVersionsMatchToolsScript(t *testing.T) {
	f, err := os.Open("../scripts/tools.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	assign := regexp.MustCompile(`^([A-Z_]+_VERSIONS?)=(.*)$`)
	script := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := assign.FindStringSubmatch(sc.Text()); m != nil {
			script[m[1]] = strings.Trim(m[2], `"`)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"VERSITYGW_VERSION":     VersitygwVersion,
		"FAKE_GCS_VERSION":      FakeGCSVersion,
		"AZURITE_VERSION":       AzuriteVersion,
		"LANGUAGE_YAML_VERSION": LanguageYAMLVersion,
		"ACT_VERSION":           ActVersion,
		"PULUMI_VERSIONS":       PulumiVersion + " " + OldPulumiVersion,
	}
	for name, v := range want {
		if got, ok := script[name]; !ok {
			t.Errorf("tools.sh sets no %s; the harness expects %q", name, v)
		} else if got != v {
			t.Errorf("tools.sh: %s=%q, the harness expects %q", name, got, v)
		}
	}
	for name := range script {
		if _, ok := want[name]; !ok {
			t.Errorf("tools.sh pins %s, which no harness constant names", name)
		}
	}
}
