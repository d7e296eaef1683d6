package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stacksync/stacksync/internal/localfile"
)

// Pulumi's passphrase environment variables.
const (
	EnvPassphrase     = "PULUMI_CONFIG_PASSPHRASE"
	EnvPassphraseFile = "PULUMI_CONFIG_PASSPHRASE_FILE"
)

// Sentinel errors of the passphrase check.
var (
	// ErrNoPassphrase: neither EnvPassphrase nor EnvPassphraseFile is set.
	ErrNoPassphrase = errors.New("passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables")
	// ErrPassphraseFile: the file EnvPassphraseFile names cannot be read.
	ErrPassphraseFile = errors.New("unable to read PULUMI_CONFIG_PASSPHRASE_FILE")
	// ErrIncorrectPassphrase: the passphrase does not open the check value.
	ErrIncorrectPassphrase = errors.New("incorrect passphrase")
	// ErrBadSalt: the salt is not "v1:<base64 salt>:<check value>".
	ErrBadSalt = errors.New("malformed passphrase salt")
)

// pbkdf2Iterations and keyBytes are pulumi's key derivation parameters
// (config.NewSymmetricCrypterFromPassphrase): PBKDF2-HMAC-SHA256, one
// million iterations, a 32-byte AES-256-GCM key.
const (
	pbkdf2Iterations = 1_000_000
	keyBytes         = 32
)

// passphraseLimit caps a passphrase file. Pulumi reads the whole file and
// trims it; a passphrase is one line, and 1 MiB is far beyond any a person
// or a secrets manager writes, while /dev/zero or a stray large file is
// refused before it fills memory.
var passphraseLimit = localfile.Limit{Max: 1 << 20, Of: "a passphrase file"}

// checkPlaintext is what pulumi encrypts into the salt's check value.
const checkPlaintext = "pulumi"

// passphraseValue is the passphrase pulumi would use, and where it came from.
type passphraseValue struct {
	phrase string
	// Source is EnvPassphrase, or EnvPassphraseFile and the file's path.
	Source string
}

// readPassphrase finds the passphrase as pulumi's readPassphrase does:
// EnvPassphrase when set, even to "" (pulumi then uses the empty
// passphrase); else the file EnvPassphraseFile names when it is set and not
// empty, its content with surrounding white space trimmed. A relative path
// is relative to dir, the directory pulumi runs in (the process's when dir
// is empty). With neither set it returns ErrNoPassphrase: pulumi's
// "passphrase must be set" failure in a job with no terminal.
//
// The file must be a regular file (or a symlink to one) of at most 1 MiB:
// a named pipe or a device is refused without blocking on it, and the read
// stops when ctx is done; either is an error wrapping ErrPassphraseFile.
func readPassphrase(ctx context.Context, lookupEnv func(string) (string, bool), dir string) (passphraseValue, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if p, ok := lookupEnv(EnvPassphrase); ok {
		return passphraseValue{phrase: p, Source: EnvPassphrase}, nil
	}
	file, ok := lookupEnv(EnvPassphraseFile)
	if !ok || file == "" {
		return passphraseValue{}, ErrNoPassphrase
	}
	path := file
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	data, err := localfile.Read(ctx, path, passphraseLimit)
	if err != nil {
		// The error names the file, never its content.
		return passphraseValue{}, fmt.Errorf("%w: %w", ErrPassphraseFile, err)
	}
	p := passphraseValue{phrase: strings.TrimSpace(string(data)), Source: EnvPassphraseFile + " " + path}
	clear(data)
	return p, nil
}

// checkSalt reports whether p opens a passphrase provider's salt
// state, "v1:<base64 salt>:v1:<base64 nonce>:<base64 ciphertext>", exactly
// as pulumi's symmetricCrypterFromPhraseAndState does: the key is
// PBKDF2-HMAC-SHA256 of the passphrase and the salt (one million
// iterations, 32 bytes), and the passphrase is right when AES-256-GCM under
// that key opens the check value to "pulumi". It returns nil,
// ErrIncorrectPassphrase, or an error wrapping ErrBadSalt for a state
// pulumi also refuses. The derived key is zeroed before it returns.
func checkSalt(state string, p passphraseValue) error {
	parts := strings.SplitN(state, ":", 3)
	if len(parts) != 3 {
		return fmt.Errorf("%w: want v1:<salt>:<check value>", ErrBadSalt)
	}
	if parts[0] != "v1" {
		return fmt.Errorf("%w: unknown version %q", ErrBadSalt, cut(parts[0]))
	}
	salt, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("%w: the salt is not base64", ErrBadSalt)
	}
	key, err := pbkdf2.Key(sha256.New, p.phrase, salt, pbkdf2Iterations, keyBytes)
	if err != nil {
		return fmt.Errorf("deriving the key: %w", err)
	}
	defer clear(key)
	// Pulumi turns every failure to open the check value into "incorrect
	// passphrase", a malformed check value included.
	if !openCheck(key, parts[2]) {
		return ErrIncorrectPassphrase
	}
	return nil
}

// openCheck decrypts a "v1:<nonce>:<ciphertext>" value with key, as
// pulumi's symmetricCrypter.DecryptValue, and reports whether it holds the
// check plaintext. The plaintext is zeroed.
func openCheck(key []byte, value string) bool {
	vals := strings.Split(value, ":")
	if len(vals) != 3 || vals[0] != "v1" {
		return false
	}
	nonce, err := base64.StdEncoding.DecodeString(vals[1])
	if err != nil {
		return false
	}
	ciphertext, err := base64.StdEncoding.DecodeString(vals[2])
	if err != nil {
		return false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return false
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil || len(nonce) != gcm.NonceSize() {
		return false
	}
	msg, err := gcm.Open(nil, nonce, ciphertext, nil)
	defer clear(msg)
	return err == nil && string(msg) == checkPlaintext
}

// cut bounds a value from state quoted in a message.
func cut(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
