"""The test suite (a package, so test modules are named tests.vm.test_x and never shadow vm/)."""
