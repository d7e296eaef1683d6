// Package lib is a fixture for apilist.
package lib

import (
	"context"
	"errors"
	"io"
)

// Kind is an enum.
type Kind int

const (
	KindA Kind = iota + 1
	KindB
	_
	KindD
	kindHidden
)

const (
	Size   = 4 << 10
	Double = Size * 2
	Name   = "lib"
)

var (
	ErrThing           = errors.New("thing")
	Names              = []string{"a", "b"}
	Default            = &Options{Jobs: 2}
	Alias              = ErrThing
	Count              = 3
	Hook               = func(n int) error { return nil }
	Typed    io.Reader = nil
	hidden             = 1
)

// Options are options.
type Options struct {
	Jobs, Retries int
	Name          string `json:"name"`
	inner         int
	io.Reader
	*Embedded
	embedded
	Anon struct {
		A int
		b string
	}
}

// Embedded is embedded.
type Embedded struct{}

type embedded struct{ X int }

// Exported method of an unexported type: not listed.
func (embedded) Visible() {}

// Store is an interface.
type Store interface {
	io.Closer
	Read(ctx context.Context, key string) (data []byte, err error)
	List(ctx context.Context, prefix string, fn func(name string) error) error
	private()
}

// Set is generic.
type Set[T comparable, V any] struct {
	Items map[T]V
}

// Add is a method of a generic type.
func (s *Set[T, V]) Add(key T, value V) bool { return true }

// Pair is an alias.
type Pair = Set[string, int]

// Open opens.
func Open(ctx context.Context, a, b string, opts ...Options) (s Store, err error) { return nil, nil }

// Map is a generic func.
func Map[T, U any](xs []T, f func(T) U) []U { return nil }

func (o Options) String() string { return "" }
func (o *Options) Set(v string)  {}
func (o *Options) unexported()   {}
func helper()                    {}
