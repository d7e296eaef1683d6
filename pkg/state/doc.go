// Package state reads Pulumi DIY ("self-managed") backend state, from S3 or
// a local file:// directory, without the pulumi binary and without ever
// writing to the backend.
//
// The read path is: a backend URL (ParseBackendURL, ResolveBackendURL) opens
// a store.Store (package s3store for s3://, dirstore for file://; the
// store package holds the interface and its contract, storetest the
// memory store and the contract suite); detectLayout decides between
// project and legacy mode; ListStacks and Find turn the layout's object
// keys into stacks; and ReadHead decodes just the head of a checkpoint,
// compressed or not, into the SecretsProvider its latest deployment
// records.
package state
