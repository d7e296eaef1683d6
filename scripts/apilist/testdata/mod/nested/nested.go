package nested

func InNested() {}
