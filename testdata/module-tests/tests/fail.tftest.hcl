run "says_goodbye" {
  assert {
    condition     = output.greeting == "goodbye"
    error_message = "the module does not say goodbye"
  }
}
