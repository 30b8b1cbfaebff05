output "pet_name" {
  type        = string
  description = "The generated pet name."
  value       = component.pet.name
}
