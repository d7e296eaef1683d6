package fixture

func Fixture() {}
