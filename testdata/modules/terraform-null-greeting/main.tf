variable "name" {
  description = "Who to greet."
  type        = string
  default     = "world"
}

locals {
  greeting = "Hello, ${var.name}!"
}
