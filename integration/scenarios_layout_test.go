package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stacksync/stacksync/integration/harness"
)

// End-to-end scenarios about where state and settings files live, stack
// history, and settings files that already hold something. Each one: the
// real pulumi v3.274.1 creates a stack with the awskms provider of
// local-kms and a secret, the settings file is lost (pulumi regenerates it
// holding only config), the built stacksync restores it, and pulumi then
// reads the stack's secrets with no passphrase anywhere.

// TestLayoutLegacy: state in the legacy (non-project) layout.
func TestLayoutLegacy(t *testing.T) {
	layoutCell(t, "legacy", "s3")
	w := newLayoutWorld(t)
	w.s.CreateBucket(t, "legacy")
	p := w.pulumi(t, w.s.BackendURL("legacy", ""))
	p.Setenv("PULUMI_DIY_BACKEND_LEGACY_LAYOUT", "true")
	p.Setenv("PULUMI_DIY_BACKEND_IGNORE_DEPRECATION_ERROR", "true")
	dir := harness.NewYAMLProject(t, layoutProject, "")
	ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "Pulumi.dev.yaml"), w.providerURL)

	keys := w.s.ListKeys(t, "legacy", "")
	t.Logf("bucket keys: %q", keys)
	if !slices.Contains(keys, ".pulumi/stacks/dev.json") {
		t.Fatalf("no legacy checkpoint .pulumi/stacks/dev.json: %q", keys)
	}
	for _, k := range keys {
		if k == ".pulumi/meta.yaml" || strings.HasPrefix(k, ".pulumi/stacks/"+layoutProject+"/") {
			t.Errorf("legacy layout holds project-mode key %s", k)
		}
	}
	cp := decodeCheckpoint(t, w.s.GetObject(t, "legacy", ".pulumi/stacks/dev.json"))
	if gp := settingsProvider(ls.good); cp.Stack != "dev" || cp.P.URL != gp.URL || cp.P.EncryptedKey != gp.EncryptedKey {
		t.Errorf("legacy checkpoint: stack %q provider %+v, want stack dev and %+v", cp.Stack, cp.P, gp)
	}

	layoutLose(t, ls)
	restoreThroughProxy(t, w.bin, w.s, "legacy", "", dir, "dev")
	if got := w.s.ListKeys(t, "legacy", ""); !slices.Equal(got, keys) {
		t.Errorf("bucket keys changed by the restore:\n%q\nwas\n%q", got, keys)
	}
	layoutVerify(t, ls)

	// --all covers the legacy stack too, which has no project in its key.
	restored := readFile(t, ls.path)
	if err := os.Remove(ls.path); err != nil {
		t.Fatal(err)
	}
	mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("legacy", ""), "--all")
	if gp, ap := settingsProvider(ls.good), settingsProvider(readFile(t, ls.path)); ap != gp {
		t.Errorf("restore --all: provider %+v, want %+v (file before removal:\n%s)", ap, gp, restored)
	}
}

// TestLayoutProjectShapes: where the settings file lives, stack names with
// dots, S3 key prefixes and file:// backends.
func TestLayoutProjectShapes(t *testing.T) {
	w := newLayoutWorld(t)

	t.Run("stack-config-dir", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "confdir")
		p := w.pulumi(t, w.s.BackendURL("confdir", ""))
		dir := layoutProjectDir(t, "Pulumi.yaml", "stackConfigDir: config\n")
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "config", "Pulumi.dev.yaml"), w.providerURL)
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.dev.yaml")); err == nil {
			t.Fatalf("pulumi wrote Pulumi.dev.yaml next to Pulumi.yaml despite stackConfigDir")
		}
		layoutLose(t, ls)
		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("confdir", ""), "dev")
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.dev.yaml")); err == nil {
			t.Errorf("stacksync wrote Pulumi.dev.yaml next to Pulumi.yaml instead of into config/")
		}
		layoutVerify(t, ls)
	})

	// A fresh checkout lacks config/ altogether when the settings file was
	// its only file (git keeps no empty dirs). pulumi recreates the dir;
	// stacksync must create the file there too.
	t.Run("stack-config-dir-missing", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "confdirgone")
		p := w.pulumi(t, w.s.BackendURL("confdirgone", ""))
		dir := layoutProjectDir(t, "Pulumi.yaml", "stackConfigDir: config\n")
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "config", "Pulumi.dev.yaml"), w.providerURL)
		if err := os.RemoveAll(filepath.Join(dir, "config")); err != nil {
			t.Fatal(err)
		}
		o, e, code := runStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("confdirgone", ""), "dev")
		if code != 0 {
			t.Fatalf("stacksync restore dev with stackConfigDir config/ missing: exit %d, want 0 and config/Pulumi.dev.yaml created (pulumi itself creates the dir)\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		after := readFile(t, ls.path)
		if gp, ap := settingsProvider(ls.good), settingsProvider(after); ap != gp {
			t.Errorf("created %s: provider %+v, want the pre-loss %+v", ls.path, ap, gp)
		}
		if fi, err := os.Stat(ls.path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o644 {
			t.Errorf("created %s with mode %v, want 0644", ls.path, fi.Mode().Perm())
		}
		layoutAppend(t, ls.path, "config:\n"+ls.secret)
		layoutGet(t, ls, "apikey", "s3cr3t")
	})

	t.Run("pulumi-yml", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "yml")
		p := w.pulumi(t, w.s.BackendURL("yml", ""))
		dir := layoutProjectDir(t, "Pulumi.yml", "")
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "Pulumi.dev.yml"), w.providerURL)
		layoutLose(t, ls)
		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("yml", ""), "dev")
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.dev.yaml")); err == nil {
			t.Errorf("stacksync wrote Pulumi.dev.yaml; the project file is Pulumi.yml, so the settings file is Pulumi.dev.yml")
		}
		layoutVerify(t, ls)
	})

	// Two dotted stacks, one name a prefix of the other; each has its own
	// data key, so a mix-up of files or checkpoints shows.
	t.Run("dotted-names", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "dotted")
		p := w.pulumi(t, w.s.BackendURL("dotted", ""))
		dir := harness.NewYAMLProject(t, layoutProject, "")
		var stacks []*layoutStack
		for _, name := range []string{"dev.my-service", "dev.my-service.us-west-2"} {
			stacks = append(stacks, layoutInit(t, p, dir, name, filepath.Join(dir, "Pulumi."+name+".yaml"), w.providerURL))
		}
		if settingsProvider(stacks[0].good).EncryptedKey == settingsProvider(stacks[1].good).EncryptedKey {
			t.Fatalf("both stacks got the same encryptedkey")
		}
		for _, ls := range stacks {
			layoutLose(t, ls)
		}
		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("dotted", ""),
			"dev.my-service.us-west-2", "dev.my-service")
		for _, ls := range stacks {
			layoutVerify(t, ls)
		}
	})

	// s3://bucket/team/a: keys live under team/a/.pulumi/. A second stack
	// of the same name at the bucket's root (another data key) must not be
	// the one restored.
	t.Run("s3-path-prefix", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "prefixed")
		dir := harness.NewYAMLProject(t, layoutProject, "")
		p := w.pulumi(t, w.s.BackendURL("prefixed", "team/a"))
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "Pulumi.dev.yaml"), w.providerURL)
		keys := w.s.ListKeys(t, "prefixed", "")
		t.Logf("bucket keys: %q", keys)
		for _, want := range []string{"team/a/.pulumi/meta.yaml", "team/a/.pulumi/stacks/demo/dev.json"} {
			if !slices.Contains(keys, want) {
				t.Errorf("bucket lacks %s", want)
			}
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, "team/a/.pulumi/") {
				t.Errorf("key %s is outside team/a/.pulumi/", k)
			}
		}

		// The decoy at the root, from another project dir.
		decoyDir := harness.NewYAMLProject(t, layoutProject, "")
		decoy := layoutInit(t, w.pulumi(t, w.s.BackendURL("prefixed", "")), decoyDir, "dev", filepath.Join(decoyDir, "Pulumi.dev.yaml"), w.providerURL)
		if settingsProvider(decoy.good).EncryptedKey == settingsProvider(ls.good).EncryptedKey {
			t.Fatalf("decoy stack got the same encryptedkey")
		}
		if !slices.Contains(w.s.ListKeys(t, "prefixed", ".pulumi/"), ".pulumi/stacks/demo/dev.json") {
			t.Fatalf("decoy stack is not at the bucket root")
		}

		layoutLose(t, ls)
		proxy, _ := restoreThroughProxy(t, w.bin, w.s, "prefixed", "team/a", dir, "dev")
		for _, r := range proxy.Requests() {
			t.Logf("request: %s", r)
			if path := r.Path(); path != "/prefixed" && !strings.HasPrefix(path, "/prefixed/team/a/.pulumi/") {
				t.Errorf("stacksync read outside team/a/.pulumi/: %s", r)
			}
			if pre := r.Query("prefix"); r.Path() == "/prefixed" && !strings.HasPrefix(pre, "team/a/.pulumi/") {
				t.Errorf("stacksync listed outside team/a/.pulumi/ (prefix %q): %s", pre, r)
			}
		}
		layoutVerify(t, ls)
	})

	// backend.url in Pulumi.yaml, relative: pulumi resolves file://./state
	// against its working directory (the project dir here); stacksync gets
	// no --backend and resolves it against -C.
	t.Run("file-backend-url-in-project", func(t *testing.T) {
		layoutCell(t, "project", "file")
		dir := layoutProjectDir(t, "Pulumi.yaml", "backend:\n  url: file://./state\n")
		if err := os.Mkdir(filepath.Join(dir, "state"), 0o755); err != nil {
			t.Fatal(err)
		}
		p := w.pulumi(t, "")
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "Pulumi.dev.yaml"), w.providerURL)
		if _, err := os.Stat(filepath.Join(dir, "state", ".pulumi", "stacks", layoutProject, "dev.json")); err != nil {
			t.Fatalf("pulumi did not use the backend of Pulumi.yaml: %v", err)
		}
		layoutLose(t, ls)
		stateBefore := snapshot(t, filepath.Join(dir, "state"))
		mustStacksync(t, w.bin, stacksyncEnv(t), "restore", "-C", dir, "dev")
		stateBefore.assertSame(t, snapshot(t, filepath.Join(dir, "state")))
		layoutVerify(t, ls)
	})
}

// TestLayoutStackHistory: a large imported stack, a renamed stack, and a
// removed one.
func TestLayoutStackHistory(t *testing.T) {
	w := newLayoutWorld(t)

	// 5,000 component resources through `pulumi stack import`: the
	// checkpoint is several MB, and stacksync must read one 64 KiB window.
	t.Run("large-checkpoint", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "big")
		p := w.pulumi(t, w.s.BackendURL("big", ""))
		dir := harness.NewYAMLProject(t, layoutProject, "")
		ls := layoutInit(t, p, dir, "big", filepath.Join(dir, "Pulumi.big.yaml"), w.providerURL)

		const n = 5000
		exported := p.MustRun(dir, nil, "stack", "export")
		var dep map[string]any
		if err := json.Unmarshal([]byte(exported), &dep); err != nil {
			t.Fatalf("stack export: %v\n%s", err, exported)
		}
		d, ok := dep["deployment"].(map[string]any)
		if !ok {
			t.Fatalf("stack export has no deployment:\n%s", exported)
		}
		stackURN := "urn:pulumi:big::" + layoutProject + "::pulumi:pulumi:Stack::" + layoutProject + "-big"
		res := []any{map[string]any{"urn": stackURN, "custom": false, "type": "pulumi:pulumi:Stack"}}
		pad := strings.Repeat("x", 900)
		for i := 0; i < n; i++ {
			res = append(res, map[string]any{
				"urn":     fmt.Sprintf("urn:pulumi:big::%s::pulumi:pulumi:Stack$demo:index:Thing::thing-%05d", layoutProject, i),
				"custom":  false,
				"type":    "demo:index:Thing",
				"parent":  stackURN,
				"outputs": map[string]any{"index": i, "padding": pad},
			})
		}
		d["resources"] = res
		body, err := json.Marshal(dep)
		if err != nil {
			t.Fatal(err)
		}
		importFile := filepath.Join(t.TempDir(), "big.json")
		if err := os.WriteFile(importFile, body, 0o644); err != nil {
			t.Fatal(err)
		}
		p.MustRun(dir, nil, "stack", "import", "--file", importFile)
		if got := readFile(t, ls.path); !bytes.Equal(got, ls.good) {
			t.Fatalf("stack import changed the settings file:\n%s", got)
		}

		const key = ".pulumi/stacks/demo/big.json"
		raw := w.s.GetObject(t, "big", key)
		cp := decodeCheckpoint(t, raw)
		gp := settingsProvider(ls.good)
		t.Logf("checkpoint %s: %d bytes, %d resources", key, len(raw), bytes.Count(raw, []byte(`"type":"demo:index:Thing"`)))
		if len(raw) < 3<<20 || bytes.Count(raw, []byte(`"type":"demo:index:Thing"`)) != n {
			t.Fatalf("checkpoint is %d bytes with %d imported resources, want several MB and %d", len(raw), bytes.Count(raw, []byte(`"type":"demo:index:Thing"`)), n)
		}
		if cp.P.URL != gp.URL || cp.P.EncryptedKey != gp.EncryptedKey {
			t.Fatalf("imported checkpoint records provider %+v, want %+v", cp.P, gp)
		}
		if i := bytes.Index(raw, []byte(`"secrets_providers"`)); i < 0 || i > 65536 {
			t.Fatalf("secrets_providers at offset %d, not in the first 64 KiB", i)
		}

		layoutLose(t, ls)
		proxy, _ := restoreThroughProxy(t, w.bin, w.s, "big", "", dir, "big")
		for _, r := range proxy.Requests() {
			t.Logf("request: %s  Range: %q", r, r.Range)
		}
		gets := proxy.ObjectGets("big", key)
		switch {
		case len(gets) == 0:
			t.Errorf("stacksync never GET %s", key)
		case len(gets) > 1:
			t.Errorf("stacksync sent %d GETs of %s, want 1: %v", len(gets), key, gets)
		}
		// Pulumi decodes the whole file (a repeated key's last value wins,
		// trailing bytes fail it), so stacksync streams it whole, once.
		for _, g := range gets {
			if g.Range != "" {
				t.Errorf("GET %s carried Range %q, want the whole object", key, g.Range)
			}
		}
		layoutVerify(t, ls)
	})

	// `pulumi stack rename` moves the checkpoint but leaves the old name in
	// its stack field, and a .bak under the old name.
	t.Run("renamed", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "renamed")
		p := w.pulumi(t, w.s.BackendURL("renamed", ""))
		dir := harness.NewYAMLProject(t, layoutProject, "")
		ls := layoutInit(t, p, dir, "old-name", filepath.Join(dir, "Pulumi.old-name.yaml"), w.providerURL)
		p.MustRun(dir, nil, "stack", "rename", "new-name")
		if _, err := os.Stat(ls.path); err == nil {
			t.Errorf("pulumi stack rename left %s", ls.path)
		}
		ls.name, ls.path = "new-name", filepath.Join(dir, "Pulumi.new-name.yaml")
		if got := readFile(t, ls.path); !bytes.Equal(got, ls.good) {
			t.Fatalf("renamed settings file differs:\n%s\nwas\n%s", got, ls.good)
		}
		keys := w.s.ListKeys(t, "renamed", ".pulumi/stacks/")
		t.Logf("keys after rename: %q", keys)
		if !slices.Contains(keys, ".pulumi/stacks/demo/new-name.json") || slices.Contains(keys, ".pulumi/stacks/demo/old-name.json") {
			t.Fatalf("rename did not move the checkpoint: %q", keys)
		}
		if cp := decodeCheckpoint(t, w.s.GetObject(t, "renamed", ".pulumi/stacks/demo/new-name.json")); cp.Stack != "organization/demo/old-name" {
			t.Errorf("renamed checkpoint's stack field is %q; the spec (§2.1) says rename keeps organization/demo/old-name", cp.Stack)
		}

		layoutLose(t, ls)
		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("renamed", ""), "new-name")
		layoutVerify(t, ls)

		// The old name is gone: only its .bak is left.
		snap := snapshot(t, dir)
		o, e, code := runStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", w.s.BackendURL("renamed", ""), "old-name")
		if code != 5 || !containsAnyFold(e, []string{"not found"}) {
			t.Errorf("restore old-name: exit %d, want 5 (not in the backend) with \"not found\"\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		snap.assertSame(t, snapshot(t, dir))
	})

	// `pulumi stack rm --yes` leaves <stack>.json.bak.
	t.Run("removed", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "removed")
		backend := w.s.BackendURL("removed", "")
		p := w.pulumi(t, backend)
		dir := harness.NewYAMLProject(t, layoutProject, "")
		keep := layoutInit(t, p, dir, "keep", filepath.Join(dir, "Pulumi.keep.yaml"), w.providerURL)
		layoutInit(t, p, dir, "gone", filepath.Join(dir, "Pulumi.gone.yaml"), w.providerURL)
		p.MustRun(dir, nil, "stack", "rm", "--yes", "gone")
		keys := w.s.ListKeys(t, "removed", "")
		t.Logf("keys after stack rm: %q", keys)
		if slices.Contains(keys, ".pulumi/stacks/demo/gone.json") || !slices.Contains(keys, ".pulumi/stacks/demo/gone.json.bak") {
			t.Errorf("after stack rm: want gone.json.bak and no gone.json: %q", keys)
		}
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.gone.yaml")); err == nil {
			t.Errorf("pulumi stack rm left Pulumi.gone.yaml")
		}

		snap := snapshot(t, dir)
		o, e, code := runStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "gone")
		t.Logf("restore gone: exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
		if code != 5 {
			t.Errorf("restore gone: exit %d, want 5 (not in the backend)", code)
		}
		if !containsAnyFold(e, []string{"not found"}) {
			t.Errorf("restore gone: stderr lacks \"not found\":\n%s", e)
		}
		if !strings.Contains(e, "keep") {
			t.Errorf("restore gone: stderr does not list the other stack, keep:\n%s", e)
		}
		if line := strings.TrimSuffix(e, "\n"); strings.Contains(line, "\n") {
			t.Errorf("restore gone: stderr is not one line:\n%s", e)
		}
		snap.assertSame(t, snapshot(t, dir))

		// --all restores the live stack and does not bring back the .bak.
		layoutLose(t, keep)
		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "--all")
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.gone.yaml")); err == nil {
			t.Errorf("restore --all wrote Pulumi.gone.yaml for the removed stack:\n%s", readFile(t, filepath.Join(dir, "Pulumi.gone.yaml")))
		}
		layoutVerify(t, keep)
	})
}

// TestLayoutExistingFiles: settings files that already hold comments,
// many values, or a provider of their own.
func TestLayoutExistingFiles(t *testing.T) {
	w := newLayoutWorld(t)

	t.Run("comments-many-keys", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "cfg")
		backend := w.s.BackendURL("cfg", "")
		p := w.pulumi(t, backend)
		dir := harness.NewYAMLProject(t, layoutProject, "")
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "Pulumi.dev.yaml"), w.providerURL)

		// 24 plain values (some that YAML must quote), 4 more secrets and a
		// nested object with a secret leaf and a list: 30 keys with apikey.
		want := map[string]string{"apikey": "s3cr3t"}
		args := []string{"config", "set-all"}
		for i := 1; i <= 24; i++ {
			k, v := fmt.Sprintf("key%02d", i), fmt.Sprintf("value-%02d", i)
			switch i {
			case 7:
				v = "a: b # not a comment"
			case 8:
				v = "0123"
			case 9:
				v = "true"
			case 10:
				v = "  padded  "
			}
			want[k] = v
			args = append(args, "--plaintext", k+"="+v)
		}
		for i := 1; i <= 4; i++ {
			k, v := fmt.Sprintf("secret%d", i), fmt.Sprintf("hidden-%d", i)
			want[k] = v
			args = append(args, "--secret", k+"="+v)
		}
		p.MustRun(dir, nil, args...)
		p.MustRun(dir, nil, "config", "set-all", "--path",
			"--plaintext", "obj.inner.k=v", "--secret", "obj.token=tok3n",
			"--plaintext", "obj.list[0]=l0", "--plaintext", "obj.list[1]=l1")
		ls.good = readFile(t, ls.path)
		if n := strings.Count(string(ls.good), "secure: v1:"); n != 6 {
			t.Fatalf("want 6 secure values before the loss, got %d:\n%s", n, ls.good)
		}

		// The loss: the provider lines are gone, the config stays, and the
		// file carries comments; pulumi then sets test:value as in CI.
		var sb strings.Builder
		sb.WriteString("# Settings of demo/dev.\n# Keep these comments.\n")
		for _, line := range layoutWithoutProvider(ls.good) {
			switch {
			case line == "config:\n":
				line = "config: # all values\n  # plain and secret values, set by pulumi\n"
			case strings.HasPrefix(line, "  demo:key01:"):
				line = strings.TrimSuffix(line, "\n") + " # the first\n"
			case strings.HasPrefix(line, "  demo:obj:"):
				line = "  # a nested object\n" + line
			}
			sb.WriteString(line)
		}
		if err := os.WriteFile(ls.path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		p.MustRun(dir, nil, "config", "set", "test:value", "hello")
		want["test:value"] = "hello"
		ls.before = readFile(t, ls.path)
		for _, c := range []string{"# Keep these comments.", "# the first", "# a nested object", "# plain and secret values"} {
			if !strings.Contains(string(ls.before), c) {
				t.Fatalf("pulumi dropped comment %q:\n%s", c, ls.before)
			}
		}
		if p := settingsProvider(ls.before); p.Type != "" {
			t.Fatalf("file after the loss has provider %+v:\n%s", p, ls.before)
		}
		t.Logf("settings file after the loss:\n%s", ls.before)

		// --dry-run prints the diff of the three keys only: no config value.
		snap := snapshot(t, dir)
		o, e, code := runStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "--dry-run", "dev")
		t.Logf("restore --dry-run: exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
		if code != 0 || !strings.Contains(o, "+secretsprovider: "+w.providerURL) {
			t.Errorf("restore --dry-run: exit %d, want 0 and a diff adding secretsprovider", code)
		}
		for _, leak := range []string{"value-0", "hello", "secure:", "s3cr3t", "# Keep", "demo:"} {
			if strings.Contains(o+e, leak) {
				t.Errorf("restore --dry-run printed %q from the config or comments", leak)
			}
		}
		snap.assertSame(t, snapshot(t, dir))

		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "dev")
		after := readFile(t, ls.path)
		t.Logf("settings file after the restore:\n%s", after)
		if o, e, code := runStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "--check", "dev"); code != 0 {
			t.Errorf("restore --check after the restore: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, o, e)
		}
		if gp, ap := settingsProvider(ls.good), settingsProvider(after); ap != gp {
			t.Errorf("restored provider %+v, want the pre-loss %+v", ap, gp)
		}
		if a, b := layoutWithoutProvider(after), layoutWithoutProvider(ls.before); !slices.Equal(a, b) {
			t.Errorf("lines other than the three keys changed:\n%s\nwant\n%s", strings.Join(a, ""), strings.Join(b, ""))
		}

		// pulumi reads every value, the secrets with no passphrase.
		for k, v := range want {
			layoutGet(t, ls, k, v)
		}
		layoutGet(t, ls, "obj.inner.k", "v", "--path")
		layoutGet(t, ls, "obj.token", "tok3n", "--path")
		layoutGet(t, ls, "obj.list[1]", "l1", "--path")
		o, e, err := p.Run(dir, nil, "config", "--show-secrets", "--json")
		if err != nil {
			t.Fatalf("pulumi config --show-secrets --json: %v\n%s%s", err, o, e)
		}
		var all map[string]struct {
			Value  string `json:"value"`
			Secret bool   `json:"secret"`
		}
		if err := json.Unmarshal([]byte(o), &all); err != nil {
			t.Fatalf("pulumi config --json: %v\n%s", err, o)
		}
		if len(all) != len(want)+1 {
			t.Errorf("pulumi config --json lists %d keys, want %d: %s", len(all), len(want)+1, o)
		}
		for k, v := range want {
			full := k
			if !strings.Contains(k, ":") {
				full = layoutProject + ":" + k
			}
			if got, ok := all[full]; !ok || got.Value != v {
				t.Errorf("pulumi config --json %s = %+v, want %q", full, got, v)
			}
		}
	})

	// After the loss pulumi was run with a passphrase and minted a fresh,
	// unrelated salt. Restoring must refuse (exit 4) until --force.
	t.Run("fresh-salt-conflict", func(t *testing.T) {
		layoutCell(t, "project", "s3")
		w.s.CreateBucket(t, "salted")
		backend := w.s.BackendURL("salted", "")
		p := w.pulumi(t, backend)
		dir := harness.NewYAMLProject(t, layoutProject, "")
		ls := layoutInit(t, p, dir, "dev", filepath.Join(dir, "Pulumi.dev.yaml"), w.providerURL)
		layoutLose(t, ls)
		p.MustRun(dir, []string{"PULUMI_CONFIG_PASSPHRASE=x"}, "config", "set", "--secret", "y", "z")
		salted := readFile(t, ls.path)
		t.Logf("settings file with pulumi's fresh salt:\n%s", salted)
		if sp := settingsProvider(salted); sp.Type != "passphrase" || sp.URL != "" || sp.EncryptedKey != "" {
			t.Fatalf("pulumi did not mint a passphrase salt: %+v\n%s", sp, salted)
		}

		snap := snapshot(t, dir)
		o, e, code := runStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "dev")
		t.Logf("restore: exit %d\nstdout:\n%s\nstderr:\n%s", code, o, e)
		if code != 4 {
			t.Errorf("restore over a fresh salt: exit %d, want 4", code)
		}
		if !containsAnyFold(o+e, []string{"conflict"}) {
			t.Errorf("restore over a fresh salt does not say conflict:\n%s%s", o, e)
		}
		if !strings.Contains(o+e, "1 secure") {
			t.Errorf("restore over a fresh salt does not count the file's 1 secure value:\n%s%s", o, e)
		}
		snap.assertSame(t, snapshot(t, dir))

		mustStacksync(t, w.bin, w.s3Env(t), "restore", "-C", dir, "--backend", backend, "--force", "dev")
		after := readFile(t, ls.path)
		t.Logf("after --force:\n%s", after)
		if gp, ap := settingsProvider(ls.good), settingsProvider(after); ap != gp {
			t.Errorf("restored provider %+v, want the pre-loss %+v", ap, gp)
		}
		// pulumi appended encryptionsalt after config:; only the three
		// keys' lines may differ.
		if a, b := layoutWithoutProvider(after), layoutWithoutProvider(salted); !slices.Equal(a, b) {
			t.Errorf("--force changed lines other than the three keys:\n%s\nwant\n%s", strings.Join(a, ""), strings.Join(b, ""))
		}

		// y was encrypted under the fresh salt: with the KMS provider back,
		// pulumi cannot read it.
		o, e, err := p.Run(dir, nil, "config", "get", "y")
		t.Logf("pulumi config get y after --force: err %v\n%s%s", err, o, e)
		if err == nil {
			t.Errorf("pulumi config get y succeeded (%q); want a decryption error", o)
		}
		// The pre-loss KMS secret reads with no passphrase.
		layoutAppend(t, ls.path, ls.secret)
		layoutGet(t, ls, "apikey", "s3cr3t")
		layoutGet(t, ls, "test:value", "hello")
	})
}
