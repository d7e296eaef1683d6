// Package secrets checks that a stack's recorded secrets provider can
// decrypt: that the settings file agrees with the checkpoint, that an
// awskms data key opens with this job's AWS credentials (one KMS Decrypt,
// opened from the URL as pulumi opens it), and that PULUMI_CONFIG_PASSPHRASE
// or PULUMI_CONFIG_PASSPHRASE_FILE opens a passphrase stack's salt, checked
// against the salt's check value as pulumi checks it. It answers, before
// `pulumi up`, whether pulumi will be able to read the stack's secrets, and
// when not, why: access denied (and to whom), key disabled, key pending
// deletion (and when), key not found, wrong region, invalid ciphertext,
// wrong or missing passphrase.
//
// [Verifier.Verify] checks one stack; [KeyAuditor] reports the state of
// every distinct KMS key of an audit with one DescribeKey per key.
//
// Nothing secret leaves this package: a decrypted data key is zeroed as soon
// as its length is checked, a key derived from a passphrase as soon as the
// check value is opened, and no result, message or error holds either, nor
// the passphrase.
package secrets
