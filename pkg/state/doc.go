// Package state reads Pulumi DIY ("self-managed") backend state, from S3 or
// a local file:// directory, without the pulumi binary and without ever
// writing to the backend.
//
// The read path is: a backend URL (ResolveBackendURL, ParseBackendURL)
// opens a store.Store (package s3store for s3://, dirstore for file://;
// package store holds the interface and its contract, storetest the test
// stores and the contract suite every store passes); the backend's layout
// (meta.yaml) decides between project and legacy mode; Provider, or
// ListStacks and Resolve for many stacks, turn a stack into its checkpoint
// object and read it whole, compressed or not, in constant memory, into
// the SecretsProvider its latest deployment records, falling back to its
// backups and history. Audit does the same for every stack of a backend.
package state
