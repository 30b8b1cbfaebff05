# Passes only when the module's test environment sets TF_VAR_secret_token.
run "has_token" {
  assert {
    condition     = output.has_token
    error_message = "TF_VAR_secret_token is not set in the test environment"
  }
}
