run "greets" {
  assert {
    condition     = output.greeting == "hello"
    error_message = "the module should greet with hello"
  }
}
