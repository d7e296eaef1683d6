//go:build ignore

package main

func Generator() {}
