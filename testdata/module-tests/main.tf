# A module whose tests need no provider download: only the built-in terraform_data
# resource and a local-exec provisioner (used to make a run slow on purpose).

variable "greeting" {
  type    = string
  default = "hello"
}

variable "sleep_seconds" {
  type        = number
  default     = 0
  description = "How long applying the resource takes (tests of cancel and timeout)."
}

variable "secret_token" {
  type      = string
  default   = ""
  sensitive = true
}

resource "terraform_data" "this" {
  input = var.greeting

  provisioner "local-exec" {
    command = "sleep ${var.sleep_seconds}"
  }
}

output "greeting" {
  value = terraform_data.this.output
}

output "has_token" {
  value = nonsensitive(var.secret_token != "")
}
