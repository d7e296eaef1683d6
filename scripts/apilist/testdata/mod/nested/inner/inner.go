package inner

func InNestedInner() {}
