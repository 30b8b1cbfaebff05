variable "prefix" {
  type        = string
  description = "Prefix of the pet name."
}

variable "instances" {
  type    = number
  default = 3
}
