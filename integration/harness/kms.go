package harness

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	localkms "github.com/nsmithuk/local-kms/src"
	kmsconfig "github.com/nsmithuk/local-kms/src/config"
	kmsdata "github.com/nsmithuk/local-kms/src/data"
)

// PulumiKMSAlias is the alias the tests' secrets providers use.
const PulumiKMSAlias = "alias/pulumi_backend_software"

// KMSAccountID is the AWS account id local-kms puts into ARNs.
const KMSAccountID = "111122223333"

// KMS is a local-kms server running in this process on 127.0.0.1, with one
// symmetric key reachable through Alias.
type KMS struct {
	Endpoint string // "http://127.0.0.1:<port>"
	Region   string // always Region: local-kms keeps it in a process global
	KeyID    string // the key's UUID
	KeyARN   string // arn:aws:kms:<region>:<account>:key/<KeyID>
	Alias    string // PulumiKMSAlias
	Client   *kms.Client
}

var kmsGlobalsOnce sync.Once

// StartKMS serves local-kms on a free 127.0.0.1 port with its own leveldb
// under t.TempDir(), then creates a symmetric key and the alias
// alias/pulumi_backend_software for it.
//
// local-kms's stock binary listens on all interfaces, so the harness calls
// its request handler (src.HandleRequest) from its own http.Server. The
// handler takes the database as an argument, so every test gets its own
// server and key store; only the account id and region are process-global
// (config.AWSAccountId, config.AWSRegion) and are fixed to KMSAccountID and
// Region for the whole test binary.
func StartKMS(t testing.TB) *KMS {
	t.Helper()
	kmsGlobalsOnce.Do(func() {
		kmsconfig.AWSAccountId = KMSAccountID
		kmsconfig.AWSRegion = Region
	})

	dbDir := t.TempDir()
	db := kmsdata.NewDatabase(dbDir)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		t.Fatalf("harness: local-kms listen: %v", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			localkms.HandleRequest(w, r, db)
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("harness: local-kms: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		db.Close()
	})

	k := &KMS{
		Endpoint: "http://" + ln.Addr().String(),
		Region:   Region,
		Alias:    PulumiKMSAlias,
	}
	k.Client = kms.New(kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(k.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
	k.KeyID, k.KeyARN = k.CreateKey(t, PulumiKMSAlias)
	return k
}

// CreateKey creates another symmetric key and, if alias is not empty, an
// alias ("alias/...") for it. It returns the key id and ARN.
func (k *KMS) CreateKey(t testing.TB, alias string) (keyID, keyARN string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := k.Client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:  kmstypes.KeySpecSymmetricDefault,
		KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
	})
	if err != nil {
		t.Fatalf("harness: local-kms CreateKey: %v", err)
	}
	keyID = aws.ToString(out.KeyMetadata.KeyId)
	keyARN = aws.ToString(out.KeyMetadata.Arn)
	if alias != "" {
		if _, err := k.Client.CreateAlias(ctx, &kms.CreateAliasInput{
			AliasName:   aws.String(alias),
			TargetKeyId: aws.String(keyID),
		}); err != nil {
			t.Fatalf("harness: local-kms CreateAlias %s: %v", alias, err)
		}
	}
	return keyID, keyARN
}

// SecretsProviderURL is the pulumi --secrets-provider URL for the alias:
// "awskms://alias/pulumi_backend_software?region=us-east-1". Pulumi releases
// whose gocloud talks AWS SDK v1 by default (see NeedsAWSSDKV2Param) ignore
// AWS_ENDPOINT_URL_KMS and so cannot reach local-kms; for them pass
// awssdkV2=true, which appends "&awssdk=v2".
func (k *KMS) SecretsProviderURL(awssdkV2 bool) string {
	u := "awskms://" + k.Alias + "?region=" + k.Region
	if awssdkV2 {
		u += "&awssdk=v2"
	}
	return u
}

// Env returns AWS_ENDPOINT_URL_KMS plus the region variables.
func (k *KMS) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_KMS=" + k.Endpoint,
		"AWS_REGION=" + k.Region,
		"AWS_DEFAULT_REGION=" + k.Region,
	}
}
