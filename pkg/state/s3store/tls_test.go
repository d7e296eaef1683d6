package s3store

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLazyRoots: the bundle is read at the first handshake, not before;
// a server it vouches for is accepted, any other, or a wrong name, refused.
func TestLazyRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")

	// The client is built before the bundle exists: nothing is read yet.
	roots := &lazyRoots{path: bundle}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: roots.tlsConfig()}}
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET the server the bundle vouches for: %v", err)
	}
	resp.Body.Close()
	// httptest's two servers share one certificate, valid for 127.0.0.1
	// and example.com: ask for another name to see a refusal.
	wrongName := &http.Client{Transport: &http.Transport{TLSClientConfig: roots.tlsConfig()}}
	wrongName.Transport.(*http.Transport).TLSClientConfig.ServerName = "not-the-server.test"
	if _, err := wrongName.Get(other.URL); err == nil || !strings.Contains(err.Error(), "not-the-server.test") {
		t.Errorf("GET with a name the certificate lacks = %v, want a name error", err)
	}
	// A bundle of another CA refuses the server.
	stranger := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(stranger, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: strangerCert(t)}), 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := &http.Client{Transport: &http.Transport{TLSClientConfig: (&lazyRoots{path: stranger}).tlsConfig()}}
	if _, err := c2.Get(srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("GET with a stranger's bundle = %v, want a certificate error", err)
	}
	// A missing bundle fails the handshake and says why.
	c3 := &http.Client{Transport: &http.Transport{TLSClientConfig: (&lazyRoots{path: filepath.Join(dir, "missing.pem")}).tlsConfig()}}
	if _, err := c3.Get(srv.URL); err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Errorf("GET with a missing bundle = %v, want a CA bundle error", err)
	}
}

// strangerCert is a self-signed CA certificate of a fresh key: httptest
// serves one fixed certificate, so another CA must be made.
func strangerCert(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
