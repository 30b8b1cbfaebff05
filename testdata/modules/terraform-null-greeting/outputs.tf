output "greeting" {
  description = "The greeting."
  value       = local.greeting
}
