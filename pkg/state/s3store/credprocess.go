package s3store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/stacksync/stacksync/pkg/state/store"
)

// The AWS SDK runs a profile's credential_process under a context that
// its credentials cache detaches from the caller's, and kills only the
// shell it starts: a credential_process that hangs outlives the command
// that ran it, and a process the shell started keeps its output pipe open,
// so the SDK waits for it long after its own timeout. New therefore runs
// credential_process itself, with the same command line, environment and
// terminal, bounded as Options says.

// credentialProcess is the credential_process of a profile, as a
// processcreds command builder.
type credentialProcess struct {
	profile string
	command string
}

// NewCommand implements processcreds.NewCommandBuilder: the SDK's command
// (/bin/sh -c, or cmd.exe /C on Windows, with the environment, standard
// input and standard error passed through for a prompt), killed with
// every process it started when ctx ends, and not waited for past a
// second after that. The shell is /bin/sh, not sh looked up in PATH, so
// that an environment without PATH still runs it.
func (p credentialProcess) NewCommand(ctx context.Context) (*exec.Cmd, error) {
	args := []string{"/bin/sh", "-c", p.command}
	if runtime.GOOS == "windows" {
		args = []string{"cmd.exe", "/C", p.command}
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = os.Environ()
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	cmd.WaitDelay = time.Second
	killGroupOnCancel(cmd)
	return cmd, nil
}

// name says which credential_process this is, for messages.
func (p credentialProcess) name() string {
	return fmt.Sprintf("the credential_process of AWS profile %s (%s)", clip(p.profile, 64), clip(p.command, 256))
}

// profileProcess returns the credential_process the configuration's
// credentials come from, if they come straight from one.
func profileProcess(cfg aws.Config) (credentialProcess, bool) {
	cache, ok := cfg.Credentials.(*aws.CredentialsCache)
	if !ok || !cache.IsCredentialsProvider(&processcreds.Provider{}) {
		return credentialProcess{}, false
	}
	for _, src := range cfg.ConfigSources {
		sc, ok := src.(config.SharedConfig)
		if !ok {
			continue
		}
		for s := &sc; s != nil; s = s.Source {
			if s.CredentialProcess != "" {
				return credentialProcess{profile: s.Profile, command: s.CredentialProcess}, true
			}
		}
	}
	return credentialProcess{}, false
}

// retrieveFromProcess replaces the configuration's credentials with p's,
// run by credentialProcess, and runs it once under ctx: a run that ctx
// ends, or that outlasts o.CredentialProcessTimeout, is killed with the
// processes it started before this returns. name names the backend for
// messages.
func retrieveFromProcess(ctx context.Context, cfg *aws.Config, p credentialProcess, o Options, name string) error {
	provider := processcreds.NewProviderCommand(p, func(po *processcreds.Options) {
		po.Timeout = o.CredentialProcessTimeout
	})
	pctx, cancel := context.WithTimeout(ctx, o.CredentialProcessTimeout)
	defer cancel()
	// Straight from the provider, not through a cache, whose detached
	// context would leave the process running when ctx ends.
	creds, err := provider.Retrieve(pctx)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("running %s for %s: %w", p.name(), name, ctx.Err())
	case pctx.Err() != nil:
		return fmt.Errorf("%w: no AWS credentials for %s: %s printed none within %s and was stopped; run it by hand to see what it waits for", store.ErrAccessDenied, name, p.name(), o.CredentialProcessTimeout)
	case err != nil:
		var pe *processcreds.ProviderError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%w: no AWS credentials for %s: %s failed: %v; run it by hand to see why", store.ErrAccessDenied, name, p.name(), err)
	}
	cfg.Credentials = aws.NewCredentialsCache(&primed{creds: &creds, p: provider})
	return nil
}

// primed hands out credentials already retrieved once, then asks p.
type primed struct {
	mu    sync.Mutex
	creds *aws.Credentials
	p     aws.CredentialsProvider
}

// Retrieve implements aws.CredentialsProvider.
func (c *primed) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c.mu.Lock()
	creds := c.creds
	c.creds = nil
	c.mu.Unlock()
	if creds != nil {
		return *creds, nil
	}
	return c.p.Retrieve(ctx)
}
