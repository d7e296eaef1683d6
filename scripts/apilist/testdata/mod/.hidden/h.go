package h

func Hidden() {}
