// Package restore is stacksync's pipeline: for each stack of a Pulumi
// project it reads the secrets provider the backend records
// (pkg/state), edits the stack's settings file to match (pkg/settings), and,
// when asked, checks that pulumi will decrypt with it (pkg/secrets).
//
// The flow, top-down:
//
//	Open(ctx, dir, Config)      find Pulumi.yaml, resolve the backend URL as pulumi does, open the backend
//	Workspace.Stacks(names)     parse the stacks to work on, or list them all
//	Workspace.Run(ctx, refs, …) per stack: provider from state → edit → atomic write → verify
//
// Run has three modes: Write restores, Check works out what a restore
// would do and writes nothing, and Verify checks the settings file as it
// is and whether pulumi will decrypt. Each stack ends in a Result with a
// typed Status; a Go program (an Automation API program before
// UpsertStackLocalSource, say) restores with one call to [Stacks].
//
// Errors are the libraries' own, wrapped with the stack, file or URL
// concerned; none names a command-line flag.
package restore
