package s3store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"

	"github.com/stacksync/stacksync/internal/localfile"
)

// caBundleLimit caps the CA bundle read: a system bundle of every public
// authority is about 200 KiB.
var caBundleLimit = localfile.Limit{Max: 16 << 20, Of: "a CA bundle"}

// lazyRoots verifies servers against a CA bundle file that it reads at the
// first TLS handshake: parsing a bundle of a hundred and fifty
// certificates costs more than a whole restore over plain HTTP.
type lazyRoots struct {
	path string
	once sync.Once
	pool *x509.CertPool
	err  error
}

func (l *lazyRoots) roots() (*x509.CertPool, error) {
	l.once.Do(func() {
		// At a handshake there is no context to read under; the read
		// never blocks (a FIFO or device is refused) and is capped.
		data, err := localfile.Read(context.Background(), l.path, caBundleLimit)
		if err != nil {
			l.err = fmt.Errorf("reading the CA bundle: %w", err)
			return
		}
		l.pool = x509.NewCertPool()
		if !l.pool.AppendCertsFromPEM(data) {
			l.err = fmt.Errorf("the CA bundle %s holds no PEM certificate", l.path)
		}
	})
	return l.pool, l.err
}

// tlsConfig returns a client configuration that verifies the server's
// chain and name against the bundle, as crypto/tls would with RootCAs set.
// Go's own verification is off only because it would need the roots before
// the handshake; VerifyConnection does the same checks, the way the
// crypto/tls documentation shows.
func (l *lazyRoots) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			roots, err := l.roots()
			if err != nil {
				return err
			}
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			opts := x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err = cs.PeerCertificates[0].Verify(opts)
			return err
		},
	}
}
