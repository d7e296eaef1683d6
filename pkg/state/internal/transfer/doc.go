// Package transfer holds the plumbing the network stores of package state
// share: the defaults of their deadlines and retry bounds, the Range header
// of a ranged read, the short error that wraps a store sentinel, and Body,
// an object body that resumes a broken transfer from where it stopped
// without ever splicing two versions of the object.
//
// Each store keeps its own Options, messages and SDK; what varies between
// them (how the rest of an object is fetched, which read errors are worth
// resuming, how long to wait before a retry) is a parameter here.
package transfer
