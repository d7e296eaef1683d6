package lib_test

func ExternalTestOnly() {}
