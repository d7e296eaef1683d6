package lib

func TestOnly() {}

type TestType struct{}

func (Options) TestMethod() {}
